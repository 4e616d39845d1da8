// vgsplat's viewer page: fetches api/scene (the scene file's URL, the cameras, the run's stats), renders
// the splats with Spark (three.js), flies to a camera on click, to ?camera=<i> or #cam=<name> at start,
// and during `vgsplat train --viewer` reloads the newest splats when api/step changes.
// ?ui=0 hides the panel and sizes the canvas to the start camera's image (screenshots that match
// `vgsplat render`); window.vgsplat.ready / .snapshot() let a test drive it.
import * as THREE from "three";
import { SparkControls, SparkRenderer, SplatMesh } from "@sparkjsdev/spark";
import { applyPose, applyProjection, fitIntrinsics } from "./camera.js";
import { buildPanel, markCamera } from "./panel.js";

const params = new URLSearchParams(location.search);
const hashParams = new URLSearchParams(location.hash.slice(1));
const showUi = params.get("ui") !== "0";
const api = { ready: false, step: null, error: null, snapshot: null };
window.vgsplat = api;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startCamera(cameras) {
  const byName = hashParams.get("cam");
  if (byName !== null) {
    const i = cameras.findIndex((c) => c.name === byName);
    if (i < 0) throw new Error(`no camera named ${byName}`);
    return i;
  }
  if (params.has("camera")) {
    const i = Number(params.get("camera"));
    if (!Number.isInteger(i) || i < 0 || i >= cameras.length) throw new Error(`no camera ${params.get("camera")}`);
    return i;
  }
  return cameras.length ? 0 : -1;
}

// A SplatMesh in the world frame of the cameras: .spz files store RUB axes (x, -y, -z of the PLY's).
async function loadMesh(sceneInfo, url) {
  const mesh = new SplatMesh({ url, fileType: sceneInfo.format, extSplats: true });
  if (sceneInfo.axes === "rub") mesh.quaternion.set(1, 0, 0, 0);
  await mesh.initialized;
  return mesh;
}

async function main() {
  const info = await (await fetch("api/scene")).json();
  const panel = document.getElementById("panel");
  panel.hidden = !showUi;
  const camIndex = startCamera(info.cameras);
  const exact = !showUi && camIndex >= 0;  // canvas of the camera's own size, no CSS scaling

  const renderer = new THREE.WebGLRenderer({ antialias: false, alpha: false, preserveDrawingBuffer: false });
  renderer.setPixelRatio(exact ? 1 : window.devicePixelRatio);
  const bg = info.background || [0, 0, 0];
  renderer.setClearColor(new THREE.Color().setRGB(bg[0], bg[1], bg[2], THREE.SRGBColorSpace), 1);
  document.getElementById("view").append(renderer.domElement);

  let dirtyCount = 0;
  // gsplat's rasterizer: 3-sigma extent, alpha >= 1/255, depth-sorted; `classic` adds 0.3 px^2 to the 2D
  // covariance (preBlur), `antialiased` adds it with the opacity compensation (blur).
  const spark = new SparkRenderer({
    renderer,
    onDirty: () => dirtyCount++,
    maxStdDev: 3,
    minAlpha: 1 / 255,
    sortRadial: false,
    preBlurAmount: info.antialiased ? 0 : 0.3,
    blurAmount: info.antialiased ? 0.3 : 0,
  });
  const scene = new THREE.Scene();
  scene.add(spark);
  const camera = new THREE.PerspectiveCamera(60, 1, info.near, info.far);

  let mesh = await loadMesh(info.scene, info.scene.url);
  scene.add(mesh);
  api.step = info.step;

  let current = camIndex;
  const size = () => (exact ? [info.cameras[camIndex].width, info.cameras[camIndex].height]
                            : [window.innerWidth, window.innerHeight]);
  const fallback = { width: 4, height: 3, fx: 4, fy: 4, cx: 2, cy: 1.5 };  // 2 x atan(3/8) ~ 41 deg vertical
  const resize = () => {
    const [w, h] = size();
    renderer.setSize(w, h, !exact);
    const cam = current >= 0 ? info.cameras[current] : fallback;
    applyProjection(camera, fitIntrinsics(cam, w, h), w, h, info.near, info.far);
  };
  const flyTo = (i) => {
    current = i;
    applyPose(camera, info.cameras[i]);
    markCamera(panel, i);
    resize();
  };
  if (showUi) buildPanel(panel, info, flyTo);
  if (camIndex >= 0) flyTo(camIndex);
  else {  // no cameras: look at the splats' bounding box from +Z
    const box = mesh.getBoundingBox(true);
    const c = box.getCenter(new THREE.Vector3());
    camera.position.copy(c).add(new THREE.Vector3(0, 0, 2 * box.getSize(new THREE.Vector3()).length()));
    camera.lookAt(c);
    resize();
  }
  window.addEventListener("resize", resize);

  const controls = showUi ? new SparkControls({ canvas: renderer.domElement }) : null;
  renderer.setAnimationLoop(() => {
    if (controls) controls.update(camera);
    renderer.render(scene, camera);
  });

  api.snapshot = () => {
    renderer.render(scene, camera);
    return renderer.domElement.toDataURL("image/png");
  };
  // Ready once the splats are loaded and sorted for this view (Spark reports finished sorts via onDirty).
  const start = dirtyCount;
  for (let t = 0; t < 100 && dirtyCount === start; ++t) await sleep(100);
  await sleep(300);
  api.ready = true;

  if (info.live) pollTraining(info, scene, () => mesh, (m) => { mesh = m; });
}

// During training: reload the splats when the trainer publishes a newer step.
async function pollTraining(info, scene, getMesh, setMesh) {
  for (;;) {
    await sleep(1000 * (info.poll_seconds || 2));
    let s;
    try {
      s = await (await fetch("api/step")).json();
    } catch {
      continue;  // the training ended and the server with it, or a transient error
    }
    if (s.step === api.step) continue;
    const next = await loadMesh(info.scene, `${s.url}?step=${s.step}`);
    const old = getMesh();
    scene.add(next);
    scene.remove(old);
    old.dispose();
    setMesh(next);
    api.step = s.step;
    const el = document.querySelector("td.step");
    if (el) el.textContent = String(s.step);
  }
}

main().catch((e) => {
  api.error = String(e && e.message ? e.message : e);
  document.getElementById("status").textContent = `error: ${api.error}`;
  console.error(e);
});
