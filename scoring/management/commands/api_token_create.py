from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from scoring.services import api_token_create


class Command(BaseCommand):
    help = ("Create a token for the score API (header 'Authorization: Token <key>'). The key is printed "
            "once, as the last line; only its hash is stored.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for (shown in the list of tokens)")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"unknown user '{username}'")
        token, key = api_token_create(user=user, name=name[:100])
        self.stdout.write(f"token {token.pk} for {username}; keep the key, it is not shown again:")
        self.stdout.write(key)
