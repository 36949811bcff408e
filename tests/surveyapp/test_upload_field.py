"""surveyapp.limits.UploadField: the one size check of every upload form (units, questionnaire
versions, paper forms, dossier lists)."""

from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import SimpleTestCase, override_settings
from django.utils import translation

from surveyapp.limits import UploadField


class Upload(forms.Form):
    file = UploadField(max_bytes=lambda: LIMIT["bytes"],
                       too_large="The file is larger than %(size)s: split it into smaller files.")


LIMIT = {"bytes": 10}


class UploadFieldTests(SimpleTestCase):
    def check(self, content):
        return Upload(files={"file": SimpleUploadedFile("x.csv", content)})

    def test_a_file_within_the_limit_passes_and_one_over_it_is_named_with_the_limit(self):
        self.assertTrue(self.check(b"0123456789").is_valid())

        form = self.check(b"0123456789a")

        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors["file"], ["The file is larger than 10\xa0bytes: split it into smaller files."])
        self.assertEqual(form.errors.as_data()["file"][0].code, "too_large")

    def test_the_limit_is_read_when_the_form_is_checked(self):
        LIMIT["bytes"] = 2048
        try:
            self.assertTrue(self.check(b"x" * 2000).is_valid())
        finally:
            LIMIT["bytes"] = 10
        self.assertFalse(self.check(b"x" * 2000).is_valid())

    @override_settings(PAPER_UPLOAD_MAX_BYTES=5)
    def test_the_paper_import_reads_its_setting_and_words_the_refusal_in_vietnamese(self):
        from fieldwork.views_paper import PaperImportForm

        with translation.override("vi"):
            form = PaperImportForm(files={"file": SimpleUploadedFile("p.csv", b"123456")})
            self.assertFalse(form.is_valid())
            self.assertIn("5\xa0byte", form.errors["file"][0])
            self.assertNotIn("larger than", form.errors["file"][0])

    def test_no_file_is_still_the_required_error(self):
        form = Upload(files={})

        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors["file"], ["This field is required."])
