from django.urls import path

from units import views

app_name = "units"
urlpatterns = [
    path("<str:code>/", views.unit_detail, name="detail"),
]
