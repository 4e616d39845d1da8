// The side panel: the run's headline figures, the camera list (click to fly there) and the raw stats files.
function el(tag, attrs = {}, text = "") {
  const e = document.createElement(tag);
  Object.assign(e, attrs);
  if (text) e.textContent = text;
  return e;
}

// Headline numbers from the newest evaluation (stats/val_step*.json) and the run's metadata.
function headline(info) {
  const rows = [["scene", `${info.scene.name} (${info.scene.format})`]];
  if (info.num_gaussians) rows.push(["Gaussians", info.num_gaussians.toLocaleString()]);
  if (info.step !== null && info.step !== undefined) rows.push(["step", String(info.step)]);
  const val = Object.keys(info.stats || {}).filter((k) => k.startsWith("stats/val_step")).sort(
    (a, b) => parseInt(a.replace(/\D/g, "")) - parseInt(b.replace(/\D/g, "")));
  const last = val.length ? info.stats[val[val.length - 1]] : null;
  if (last) {
    for (const key of ["psnr", "ssim", "lpips"])
      if (typeof last[key] === "number") rows.push([key.toUpperCase(), last[key].toFixed(key === "psnr" ? 2 : 4)]);
  }
  return rows;
}

export function buildPanel(root, info, onCamera) {
  root.replaceChildren();
  root.append(el("h1", {}, "vgsplat"));
  const table = el("table");
  for (const [k, v] of headline(info)) {
    const tr = el("tr");
    tr.append(el("th", {}, k), el("td", { className: k === "step" ? "step" : "" }, v));
    table.append(tr);
  }
  root.append(table);
  root.append(el("h2", {}, `cameras (${info.cameras.length})`));
  const list = el("ol", { className: "cameras" });
  info.cameras.forEach((cam, i) => {
    const li = el("li", { title: `${cam.width}x${cam.height}, fx ${cam.fx.toFixed(1)}` });
    const a = el("a", { href: `#cam=${encodeURIComponent(cam.name)}` }, `${cam.name} `);
    a.append(el("span", { className: `split ${cam.split}` }, cam.split));
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      history.replaceState(null, "", `#cam=${encodeURIComponent(cam.name)}`);
      onCamera(i);
    });
    li.append(a);
    list.append(li);
  });
  root.append(list);
  const files = Object.keys(info.stats || {});
  if (files.length) {
    root.append(el("h2", {}, "stats"));
    for (const name of files) {
      const d = el("details");
      d.append(el("summary", {}, name), el("pre", {}, JSON.stringify(info.stats[name], null, 1)));
      root.append(d);
    }
  }
}

// Marks the selected camera in the list.
export function markCamera(root, index) {
  root.querySelectorAll("ol.cameras li").forEach((li, i) => li.classList.toggle("active", i === index));
}
