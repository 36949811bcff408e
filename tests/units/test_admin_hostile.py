"""Hostile posts to every administration form, by a province's administrator: never a server error,
and nothing outside their province ever changes (a unit, an account or a role of Lào Cai)."""

import uuid

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from tests.security.test_hostile_input import HOSTILE
from tests.units.test_admin_pages import AdminTestCase
from units.models import Role, Unit

TEXT = st.one_of(
    st.text(max_size=30).map(lambda t: "".join(c for c in t if not 0xD800 <= ord(c) <= 0xDFFF)),
    st.sampled_from(["\x00", "08\x00", "\u202e08", "x" * 5000, "", " ", "10", "10001", "08", "02212", "02230",
                     "02212.TTPV", "../10", "%", "admin", "officer", "head", "OFFICER", "far_officer",
                     "2025-06-30", "30/06/2025", "0001-01-01", "9999-12-31", "2025-02-30", "99999999999999999999",
                     str(uuid.uuid4()), "a@b", "confirmed"]),
)
FIELDS = st.sampled_from(["name", "valid_to", "successor", "confirmed", "username", "full_name", "email", "unit",
                          "kind", "key", "digest"])
CSV_LINE = st.lists(TEXT, max_size=8).map(",".join)


def outside():
    """What an administrator of province 08 must never change."""
    users = get_user_model().objects.exclude(unit_roles__unit__path__startswith="/08/").exclude(is_superuser=True)
    return (sorted(Unit.objects.exclude(path__startswith="/08/").values_list()),
            sorted(Role.objects.exclude(unit__path__startswith="/08/").values_list("user", "unit", "kind")),
            sorted(users.values_list("username", "is_active", "password")))


class HostileAdministrationFormTests(HypothesisTestCase, AdminTestCase):
    def post(self, name, args, data):
        before = outside()
        self.client.force_login(self.province_admin)
        answer = self.client.post(reverse(name, args=args), data)
        self.assertLess(answer.status_code, 500, (name, data))
        self.assertIn(answer.status_code, (200, 302), (name, data))
        self.assertEqual(outside(), before, (name, data))

    @HOSTILE
    @given(data=st.dictionaries(FIELDS, TEXT, max_size=5))
    @example(data={"valid_to": "9999-12-31", "confirmed": "1"})
    @example(data={"valid_to": "2025-06-30", "successor": "10001", "confirmed": "1"})
    @example(data={"name": "\u202eXã"})
    def test_the_unit_forms_never_fail_and_never_reach_another_province(self, data):
        self.post("administration:unit-rename", ["02230"], data)
        self.post("administration:unit-close", ["02230"], data)
        self.post("administration:unit-import-confirm", [], data)

    @HOSTILE
    @given(data=st.dictionaries(FIELDS, TEXT, max_size=5))
    @example(data={"username": "far_officer", "full_name": "x", "unit": "10", "kind": "admin"})
    @example(data={"username": "new", "full_name": "x", "unit": "02212", "kind": "admin", "email": "a@b"})
    def test_the_staff_and_role_forms_never_fail_and_never_reach_another_province(self, data):
        self.post("administration:staff-create", [], data)
        self.post("administration:role-grant", [self.officer.pk], data)

    @HOSTILE
    @given(lines=st.lists(CSV_LINE, max_size=6), header=st.booleans())
    @example(lines=["10,Tỉnh Lào Cai (đổi),,province,,,", "10001,Xã,10,commune,,,"], header=True)
    @example(lines=["08,Tỉnh,10,province,,,"], header=True)
    def test_an_uploaded_unit_file_never_fails_and_never_reaches_another_province(self, lines, header):
        text = ("code,name,parent_code,level,valid_from,valid_to,successor_code\n" if header else "") + \
            "\n".join(lines)
        upload = SimpleUploadedFile("units.csv", text.encode("utf-8", "surrogatepass"))

        self.post("administration:unit-import", [], {"file": upload})
