// Every element with class "figure" names its JSON source (data-url) and the <select>s whose
// values are its query (data-params). The server answers {figure, options, note}; options
// refill selects whose choices depend on others (a task's epochs and conditions).
"use strict";

function setChoices(select, spec) {
  if (!select) return;
  const wanted = JSON.stringify(spec.choices);
  if (select.dataset.choices !== wanted) {
    select.replaceChildren(
      ...spec.choices.map(([value, label]) => {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = label;
        return option;
      })
    );
    select.dataset.choices = wanted;
  }
  select.value = spec.selected;
}

async function refresh(div) {
  const params = new URLSearchParams();
  for (const name of (div.dataset.params || "").split(" ").filter(Boolean)) {
    const select = document.getElementById(name);
    if (select && select.value !== "") params.set(name, select.value);
  }
  const note = document.getElementById(div.id + "-note");
  let body;
  try {
    const response = await fetch(div.dataset.url + "?" + params.toString());
    body = await response.json();
  } catch (err) {
    body = { error: "could not load this view: " + err };
  }
  for (const [name, spec] of Object.entries(body.options || {})) {
    setChoices(document.getElementById(name), spec);
  }
  if (note) note.textContent = body.note || body.error || "";
  if (body.figure) {
    div.hidden = false;
    await Plotly.react(div, body.figure.data, body.figure.layout, { responsive: true });
  } else {
    div.hidden = true;
  }
  div.dataset.rendered = String(Number(div.dataset.rendered || 0) + 1);
}

document.addEventListener("DOMContentLoaded", () => {
  const figures = Array.from(document.querySelectorAll(".figure"));
  for (const select of document.querySelectorAll("select")) {
    select.addEventListener("change", () => {
      for (const div of figures) {
        if ((div.dataset.params || "").split(" ").includes(select.id)) refresh(div);
      }
    });
  }
  figures.forEach(refresh);
});
