// The "Print" button of a questionnaire version's page (no inline scripts: the CSP allows files only).
document.querySelectorAll("[data-print]").forEach((button) => button.addEventListener("click", () => window.print()));
