import os

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create a staff account (no roles yet: give them with role_grant). The password is read "
        "from the STAFF_PASSWORD environment variable, or asked for."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--name", default="", help="full name")

    def handle(self, *args, username, email, name, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"user '{username}' exists already")
        password = os.environ.get("STAFF_PASSWORD")
        if not password:
            import getpass

            password = getpass.getpass(f"Password for {username}: ")
        user = User(username=username, email=email, first_name=name, is_staff=False)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("password rejected: " + " ".join(exc.messages))
        user.set_password(password)
        user.save()
        self.stdout.write(f"created {username}")
