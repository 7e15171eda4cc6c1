// Link each field row with its box on the page image (hover or focus highlights both).
document.addEventListener("DOMContentLoaded", () => {
  const boxes = (name) => document.querySelectorAll(`rect[data-field="${CSS.escape(name)}"]`);
  const rows = (name) => document.querySelectorAll(`tr[data-field="${CSS.escape(name)}"]`);
  const toggle = (name, on) => {
    boxes(name).forEach((b) => b.classList.toggle("hl", on));
    rows(name).forEach((r) => r.classList.toggle("hl", on));
  };
  document.querySelectorAll("[data-field]").forEach((el) => {
    const name = el.getAttribute("data-field");
    el.addEventListener("mouseenter", () => toggle(name, true));
    el.addEventListener("mouseleave", () => toggle(name, false));
    el.addEventListener("focusin", () => toggle(name, true));
    el.addEventListener("focusout", () => toggle(name, false));
  });
});
