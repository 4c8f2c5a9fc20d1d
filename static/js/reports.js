// The call-volume charts, drawn with the vendored Chart.js from the figures the page carries
// in a json_script. Without JavaScript the data tables under each chart say the same, and
// their links lead to the same recordings a click on a bar does.
(function () {
  "use strict";

  const PALETTE = ["#0b6bcb", "#e07a10", "#067647", "#b42318", "#7a5af8", "#0e9384", "#c11574", "#5f6b7a"];

  function go(links, index) {
    if (links && links[index]) window.location.assign(links[index]);
  }

  // One day's recordings, for one subscriber when the bar is theirs.
  function goToDay(template, day, customerId) {
    const customer = customerId === null || customerId === undefined ? "" : "&customer_id=" + encodeURIComponent(customerId);
    window.location.assign(template.split("{day}").join(encodeURIComponent(day)).split("{customer}").join(customer));
  }

  function draw(section, config) {
    const canvas = section && section.querySelector("canvas");
    if (!canvas) return;
    config.options = Object.assign(
      {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        onHover: (event, elements) => {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
      },
      config.options || {}
    );
    new window.Chart(canvas, config);
    // The chart shows the figures; the table stays a click away (and for screen readers).
    const details = section.querySelector("details.chart-data");
    if (details) details.open = false;
    section.classList.add("drawn");
  }

  function bars(section, data, label, horizontal) {
    draw(section, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{ label: label, data: data.values, backgroundColor: PALETTE[0] }],
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: false } },
        onClick: (event, elements) => {
          if (elements.length) go(data.links, elements[0].index);
        },
      },
    });
  }

  function start() {
    const source = document.getElementById("chart-data");
    if (!source || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    const text = data.text;

    draw(document.getElementById("chart-daily"), {
      type: "bar",
      data: {
        labels: data.daily.labels,
        datasets: data.daily.series.map((s, n) => ({
          label: s.label,
          data: s.values,
          backgroundColor: PALETTE[n % PALETTE.length],
        })),
      },
      options: {
        scales: { x: { stacked: true, ticks: { callback: (value) => data.daily.ticks[value] } }, y: { stacked: true, title: { display: true, text: text.calls } } },
        plugins: { tooltip: { callbacks: { title: (items) => data.daily.ticks[items[0].dataIndex] } } },
        onClick: (event, elements) => {
          if (elements.length) {
            const hit = elements[0];
            goToDay(data.daily.link, data.daily.labels[hit.index], data.daily.series[hit.datasetIndex].customer_id);
          }
        },
      },
    });
    bars(document.getElementById("chart-durations"), data.durations, text.calls, false);
    bars(document.getElementById("chart-top-calls"), data.top_calls, text.calls, true);
    bars(document.getElementById("chart-top-minutes"), data.top_minutes, text.minutes, true);
    draw(document.getElementById("chart-storage"), {
      type: "line",
      data: {
        labels: data.storage.labels,
        datasets: [{ label: text.megabytes, data: data.storage.values, borderColor: PALETTE[2], backgroundColor: PALETTE[2], pointRadius: 2, fill: false }],
      },
      options: {
        plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => data.storage.ticks[items[0].dataIndex] } } },
        scales: { x: { ticks: { callback: (value) => data.storage.ticks[value] } }, y: { beginAtZero: true, title: { display: true, text: text.megabytes } } },
        onClick: (event, elements) => {
          if (elements.length) goToDay(data.storage.link, data.storage.labels[elements[0].index], null);
        },
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
