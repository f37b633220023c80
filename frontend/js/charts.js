// Plotly figures of the assessment: temporal box plot, CAM on a skeleton, CAM heatmap.
// Plotly is the locally served plotly.min.js (window.Plotly); no figure talks to the network.

import { COLOURS, formatPercent, formatRisk, formatThreshold } from "./ui.js";

const FONT = { family: 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif', size: 13, color: "#1b2430" };
const CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
  toImageButtonOptions: { format: "png", scale: 2 },
};
// Green (low contribution) → yellow → red (high), the published CAM colouring.
export const CAM_COLOURSCALE = [
  [0, "#2e7d32"],
  [0.5, "#f2c200"],
  [1, "#c62828"],
];

function hexToRgba(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function plotly() {
  if (!window.Plotly) throw new Error("plotly.js did not load");
  return window.Plotly;
}

/**
 * One box per window at the window's centre time, from the report's own statistics (so the
 * figure shows exactly the report's quartiles and Tukey whiskers) with the N instance values as
 * points; threshold dashed, video risk solid.
 */
export function drawBoxPlot(node, report) {
  const windows = report.windows;
  const hop = windows.length > 1 ? windows[1].start_s - windows[0].start_s : windows[0].end_s - windows[0].start_s;
  const width = Math.max(0.4, hop * 0.7);
  const traces = windows.map((w, i) => {
    const mid = (w.start_s + w.end_s) / 2;
    const info = COLOURS[w.colour] || { hex: "#777777", label: w.colour, meaning: "" };
    const name = `Window ${i + 1}, ${w.start_s.toFixed(1)}–${w.end_s.toFixed(1)} s`;
    const text = `${name}<br>window risk ${formatRisk(w.risk)}<br>${info.label}: ${info.meaning}<br>` +
      `${formatPercent(w.share_above)} of instances above threshold (${w.count_above} of ${report.n_instances})`;
    return {
      type: "box",
      name,
      x: [mid],
      q1: [w.box.q1],
      median: [w.box.median],
      q3: [w.box.q3],
      lowerfence: [w.box.whisker_low],
      upperfence: [w.box.whisker_high],
      y: [w.instance_values],
      boxpoints: "all",
      jitter: 0.5,
      pointpos: 0,
      width,
      marker: { size: 3, color: "rgba(27, 36, 48, 0.45)" },
      fillcolor: hexToRgba(info.hex, 0.55),
      line: { color: info.hex === "#f2c200" ? "#8a6d00" : info.hex, width: 2 },
      showlegend: false,
      hovertemplate: `${text}<br>instance value %{y:.3f}<extra></extra>`,
      meta: { window: i, colour: w.colour },
    };
  });
  const x0 = windows[0].start_s;
  const x1 = windows[windows.length - 1].end_s;
  traces.push({
    type: "scatter",
    mode: "lines",
    name: `Decision threshold (${formatThreshold(report.threshold)})`,
    x: [x0, x1],
    y: [report.threshold, report.threshold],
    line: { color: "#1b2430", width: 2, dash: "dash" },
    hovertemplate: `Decision threshold ${formatThreshold(report.threshold)}<extra></extra>`,
    meta: { role: "threshold" },
  });
  traces.push({
    type: "scatter",
    mode: "lines",
    name: `Video risk (${formatRisk(report.risk)})`,
    x: [x0, x1],
    y: [report.risk, report.risk],
    line: { color: "#1d4e89", width: 3 },
    hovertemplate: `Video risk ${formatRisk(report.risk)}<extra></extra>`,
    meta: { role: "risk" },
  });
  const layout = {
    font: FONT,
    margin: { l: 60, r: 20, t: 10, b: 55 },
    height: 400,
    xaxis: { title: { text: "Time in the video (s), centre of each 5-second window" }, range: [x0, x1], zeroline: false },
    yaxis: { title: { text: "Predicted CP probability per instance" }, range: [-0.03, 1.03], tick0: 0, dtick: 0.1, zeroline: false },
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    hovermode: "closest",
  };
  return plotly().react(node, traces, layout, CONFIG);
}

function camRange(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  return [lo, hi];
}

function headShape(figure) {
  const top = figure.keypoints.indexOf("head_top");
  const neck = figure.keypoints.indexOf("upper_neck");
  if (top < 0 || neck < 0) return [];
  const [xt, yt] = figure.positions[top];
  const [xn, yn] = figure.positions[neck];
  const r = Math.abs(yt - yn) / 2;
  const cx = (xt + xn) / 2;
  const cy = (yt + yn) / 2;
  return [
    {
      type: "circle",
      layer: "below",
      x0: cx - r * 0.85,
      x1: cx + r * 0.85,
      y0: cy - r,
      y1: cy + r,
      line: { color: "#b8c1cd", width: 2 },
      fillcolor: "#f3f5f8",
    },
  ];
}

/** The overall CAM on a template skeleton: bones from the layout, keypoints coloured by CAM. */
export function drawCamSkeleton(node, report, figure) {
  const cam = report.cam || {};
  const xs = [];
  const ys = [];
  for (const [a, b] of figure.bones) {
    xs.push(figure.positions[a][0], figure.positions[b][0], null);
    ys.push(figure.positions[a][1], figure.positions[b][1], null);
  }
  const values = figure.keypoints.map((k) => (k in cam ? cam[k] : NaN));
  const [lo, hi] = camRange(values);
  const bones = {
    type: "scatter",
    mode: "lines",
    x: xs,
    y: ys,
    line: { color: "#8a95a5", width: 6 },
    hoverinfo: "skip",
    showlegend: false,
    name: "bones",
    meta: { role: "bones" },
  };
  const keypoints = {
    type: "scatter",
    mode: "markers",
    name: "keypoints",
    x: figure.positions.map((p) => p[0]),
    y: figure.positions.map((p) => p[1]),
    text: figure.labels,
    customdata: values.map((v) => (Number.isFinite(v) ? v.toFixed(3) : "not available")),
    marker: {
      size: 22,
      color: values.map((v) => (Number.isFinite(v) ? v : lo)),
      cmin: lo,
      cmax: hi,
      colorscale: CAM_COLOURSCALE,
      line: { color: "#1b2430", width: 1.5 },
      colorbar: { title: { text: "Contribution<br>to CP class", side: "right" }, thickness: 14, len: 0.8 },
    },
    hovertemplate: "%{text}<br>contribution %{customdata}<extra></extra>",
    showlegend: false,
    meta: { role: "keypoints" },
  };
  const layout = {
    font: FONT,
    height: 460,
    margin: { l: 10, r: 10, t: 10, b: 10 },
    xaxis: { visible: false, range: [-2.3, 2.3], fixedrange: true },
    yaxis: { visible: false, range: [-2.5, 3.4], scaleanchor: "x", scaleratio: 1, fixedrange: true },
    // A head outline through head top and upper neck, so the template reads as an infant.
    shapes: headShape(figure),
    annotations: [
      { x: -2.0, y: 3.2, text: "<b>R</b> (infant's right)", showarrow: false, xanchor: "left", font: { size: 12, color: "#4a5566" } },
      { x: 2.0, y: 3.2, text: "<b>L</b> (infant's left)", showarrow: false, xanchor: "right", font: { size: 12, color: "#4a5566" } },
    ],
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
  };
  return plotly().react(node, [bones, keypoints], layout, { ...CONFIG, scrollZoom: false });
}

/** Keypoints × windows heatmap of the per-window CAM (median over instances). */
export function drawCamHeatmap(node, report, figure) {
  const names = figure ? figure.keypoints : Object.keys(report.cam || {});
  const labels = figure ? figure.labels : names;
  const windows = report.windows.filter((w) => w.cam && Object.keys(w.cam).length);
  if (!windows.length || !names.length) {
    node.textContent = "The model did not provide per-window class activations.";
    return null;
  }
  const x = windows.map((w) => (w.start_s + w.end_s) / 2);
  const z = names.map((k) => windows.map((w) => (k in w.cam ? w.cam[k] : null)));
  const [lo, hi] = camRange(z.flat().filter((v) => v !== null));
  const trace = {
    type: "heatmap",
    x,
    y: labels,
    z,
    zmin: lo,
    zmax: hi,
    colorscale: CAM_COLOURSCALE,
    colorbar: { title: { text: "Contribution", side: "right" }, thickness: 14 },
    hovertemplate: "%{y}<br>window centre %{x:.1f} s<br>contribution %{z:.3f}<extra></extra>",
  };
  const layout = {
    font: FONT,
    height: Math.max(320, 26 * names.length + 90),
    margin: { l: 120, r: 20, t: 10, b: 50 },
    xaxis: { title: { text: "Time in the video (s), window centre" } },
    yaxis: { autorange: "reversed" },
    paper_bgcolor: "#ffffff",
  };
  return plotly().react(node, [trace], layout, CONFIG);
}
