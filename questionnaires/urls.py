from django.urls import path

from questionnaires import views

# Under /administration/questionnaires/ (surveyapp/urls.py). The preview on the kiosk client is in
# fieldwork/urls_preview.py, under the same prefix.
urlpatterns = [
    path("", views.version_list, name="questionnaire-versions"),
    path("<str:code>/", views.version_detail, name="questionnaire-version"),
    path("<str:code>/definition.json", views.version_definition, name="questionnaire-definition"),
    path("<str:code>/publish/", views.version_publish, name="questionnaire-publish"),
]
