import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from tests.base import BaseTestCase
from units.access import AdminScope
from units.models import Role
from units.services import AdministrationError, role_grant, role_revoke


class RoleGrantCommandTests(BaseTestCase):
    def test_it_grants_a_role_once(self):
        out = io.StringIO()

        call_command("role_grant", "nobody", "--unit", "02230", "--role", "officer", stdout=out)
        call_command("role_grant", "nobody", "--unit", "02230", "--role", "officer", stdout=out)

        self.assertEqual(Role.objects.filter(user=self.nobody).count(), 1)
        self.assertIn("granted", out.getvalue())
        self.assertIn("already held", out.getvalue())

    def test_an_unknown_user_or_unit_is_named(self):
        with pytest.raises(CommandError, match="There is no staff account “ghost”."):
            call_command("role_grant", "ghost", "--unit", "02230", "--role", "head")
        with pytest.raises(CommandError, match="There is no unit with the code “999”."):
            call_command("role_grant", "nobody", "--unit", "999", "--role", "head")

    def test_an_unknown_role_is_refused(self):
        with pytest.raises(CommandError, match="invalid choice: 'boss'"):
            call_command("role_grant", "nobody", "--unit", "02230", "--role", "boss")

    def test_a_closed_unit_is_refused(self):
        self.other_commune.valid_to = datetime.date(2025, 6, 30)
        self.other_commune.save()

        with pytest.raises(CommandError, match=r"Phường Minh Xuân \(02230\) was closed on 30/06/2025"):
            call_command("role_grant", "nobody", "--unit", "02230", "--role", "head")
        self.assertFalse(Role.objects.filter(user=self.nobody).exists())


class RoleServiceTests(BaseTestCase):
    """The rules of units.services that the pages and the command share."""

    def scope(self, *units):
        return AdminScope(paths=tuple(u.path for u in units))

    def test_an_administrator_sees_no_account_whose_roles_are_all_elsewhere(self):
        with pytest.raises(AdministrationError, match="There is no staff account “far_officer”."):
            role_grant(username="far_officer", unit_code="02230", kind="head", scope=self.scope(self.province))

    def test_an_account_without_any_role_can_be_given_one(self):
        role, created = role_grant(username="nobody", unit_code="02230", kind="head", scope=self.scope(self.province))

        self.assertTrue(created)
        self.assertEqual(role.unit, self.other_commune)

    def test_an_administrator_may_revoke_their_own_administrator_role_when_another_covers_the_unit(self):
        own = Role.objects.create(user=self.province_admin, unit=self.commune, kind=Role.Kind.ADMIN)

        role_revoke(role=own, scope=self.scope(self.province), by=self.province_admin)

        self.assertFalse(Role.objects.filter(pk=own.pk).exists())
        top = Role.objects.get(user=self.province_admin)
        with pytest.raises(AdministrationError, match="You cannot take away your own administrator role"):
            role_revoke(role=top, scope=self.scope(self.province), by=self.province_admin)

    def test_revoking_a_role_outside_the_scope_is_refused(self):
        role = Role.objects.get(user=self.far_officer)

        with pytest.raises(AdministrationError):
            role_revoke(role=role, scope=self.scope(self.province), by=self.province_admin)
        self.assertTrue(Role.objects.filter(pk=role.pk).exists())
