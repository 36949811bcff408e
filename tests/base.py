"""Named personas shared by the tests: a small province with two communes and their staff."""

from django.contrib.auth import get_user_model
from django.test import Client, TestCase

from units.models import Role, Unit


def make_unit(code, parent=None, level=Unit.Level.COMMUNE, name=None, **extra):
    return Unit.objects.create(
        code=code,
        name=name or f"Đơn vị {code}",
        level=level,
        parent=parent,
        path=Unit.path_for(code, parent.path if parent else None),
        depth=(parent.depth + 1) if parent else 0,
        **extra,
    )


def make_user(username, *roles, superuser=False):
    user = get_user_model().objects.create_user(username, password="password", is_superuser=superuser)
    for kind, unit in roles:
        Role.objects.create(user=user, unit=unit, kind=kind)
    return user


class EnglishClient(Client):
    """Pages in English, so that tests can check messages as written in the code. Vietnamese, the
    default for a browser that asks for no language, is tested with a plain Client."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, HTTP_ACCEPT_LANGUAGE="en", **kwargs)


class BaseTestCase(TestCase):
    """province ─┬─ commune ── commune_centre
                 └─ other_commune
       another_province (someone else's)
    """

    client_class = EnglishClient

    @classmethod
    def setUpTestData(cls):
        cls.province = make_unit("08", level=Unit.Level.PROVINCE, name="Tỉnh Tuyên Quang")
        cls.commune = make_unit("02212", cls.province, name="Xã Sơn Dương")
        cls.commune_centre = make_unit("02212.TTPV", cls.commune, level=Unit.Level.CENTRE)
        cls.other_commune = make_unit("02230", cls.province, name="Phường Minh Xuân")
        cls.another_province = make_unit("10", level=Unit.Level.PROVINCE, name="Tỉnh Lào Cai")

        cls.admin = make_user("admin", superuser=True)
        cls.province_admin = make_user("province_admin", (Role.Kind.ADMIN, cls.province))
        cls.officer = make_user("officer", (Role.Kind.OFFICER, cls.commune))
        cls.province_officer = make_user("province_officer", (Role.Kind.OFFICER, cls.province))
        cls.province_head = make_user("province_head", (Role.Kind.HEAD, cls.province))
        cls.far_officer = make_user("far_officer", (Role.Kind.OFFICER, cls.another_province))
        cls.head = make_user("head", (Role.Kind.HEAD, cls.commune))
        cls.other_head = make_user("other_head", (Role.Kind.HEAD, cls.other_commune))
        cls.nobody = make_user("nobody")
