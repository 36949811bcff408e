from django.apps import AppConfig


class SurveyappConfig(AppConfig):
    """The project package is also an app: health checks, the staff home, demo data, the ping task."""

    name = "surveyapp"
    verbose_name = "SIPAS"
