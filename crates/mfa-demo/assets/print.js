// The backup-codes page's print button (no inline scripts: CSP script-src 'self').
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
