from django.urls import path

from scoring import views_exports as views

# Exports (XLSX, CSV, raw responses) and the printable report / PDF (issue 6).
urlpatterns = [
    path("scores/<int:round_id>/<str:unit_code>/export.xlsx", views.scores_xlsx, name="scores-export-xlsx"),
    path("scores/<int:round_id>/<str:unit_code>/export.csv", views.scores_csv, name="scores-export-csv"),
    path("scores/<int:round_id>/<str:unit_code>/responses.csv", views.responses_csv, name="responses-export"),
    path("scores/<int:round_id>/<str:unit_code>/report/", views.report_page, name="scores-report"),
    path("scores/<int:round_id>/<str:unit_code>/report.pdf", views.report_pdf, name="scores-report-pdf"),
    path("scores/<int:round_id>/<str:unit_code>/report.docx", views.report_docx_download, name="scores-report-docx"),
]
