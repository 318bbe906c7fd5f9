// The running total of a participatory-budget ballot: what the selection costs against the budget, and
// what the server would refuse (over budget, too many projects, too little spent), as the citizen ticks.
// The server checks everything again; without JavaScript the form works the same.
(function () {
  "use strict";
  const form = document.getElementById("ballot");
  const status = document.getElementById("ballot-total");
  if (!form || !status) return;
  const total = Number(form.dataset.total);
  const rule = form.dataset.rule;
  const maxProjects = form.dataset.maxProjects ? Number(form.dataset.maxProjects) : null;
  const minSpend = Number(form.dataset.minSpend || 0);
  const locale = form.dataset.locale === "en" ? "en-GB" : "fr-FR";
  const meter = document.getElementById("ballot-meter");
  const money = new Intl.NumberFormat(locale, { style: "currency", currency: "EUR", maximumFractionDigits: 0 });
  const boxes = Array.from(form.querySelectorAll("input[name=project]"));
  const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));

  function update() {
    const chosen = boxes.filter((box) => box.checked);
    const spent = chosen.reduce((sum, box) => sum + Number(box.dataset.cost), 0);
    const values = { spent: money.format(spent / 100), total: money.format(total / 100), count: chosen.length, max: maxProjects ?? "" };
    const messages = [fill(status.dataset[rule === "approval" ? "templateApproval" : "templateKnapsack"], values)];
    if (rule === "knapsack" && spent > total) {
      messages.push(fill(status.dataset.overBudget, { amount: money.format((spent - total) / 100) }));
    }
    if (maxProjects !== null && chosen.length > maxProjects) messages.push(status.dataset.overMax);
    if (chosen.length && spent < minSpend) messages.push(fill(status.dataset.underMin, { amount: money.format(minSpend / 100) }));
    status.textContent = messages.join(" ");
    status.classList.toggle("over", messages.length > 1);
    if (meter) meter.value = Math.min(spent, total);
  }

  form.addEventListener("change", update);
  update();
})();
