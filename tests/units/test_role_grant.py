import io

import pytest
from django.core.management import CommandError, call_command

from tests.base import BaseTestCase
from units.models import Role


class RoleGrantCommandTests(BaseTestCase):
    def test_it_grants_a_role_once(self):
        out = io.StringIO()

        call_command("role_grant", "nobody", "--unit", "02230", "--role", "officer", stdout=out)
        call_command("role_grant", "nobody", "--unit", "02230", "--role", "officer", stdout=out)

        self.assertEqual(Role.objects.filter(user=self.nobody).count(), 1)
        self.assertIn("granted", out.getvalue())
        self.assertIn("already held", out.getvalue())

    def test_an_unknown_user_or_unit_is_named(self):
        with pytest.raises(CommandError, match="unknown user 'ghost'"):
            call_command("role_grant", "ghost", "--unit", "02230", "--role", "head")
        with pytest.raises(CommandError, match="unknown unit code '999'"):
            call_command("role_grant", "nobody", "--unit", "999", "--role", "head")

    def test_an_unknown_role_is_refused(self):
        with pytest.raises(CommandError, match="invalid choice: 'boss'"):
            call_command("role_grant", "nobody", "--unit", "02230", "--role", "boss")
