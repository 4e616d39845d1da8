// COLMAP / vgsplat pinhole cameras as three.js cameras. A vgsplat camera is a world->camera matrix
// (row-major 4x4, OpenCV axes: x right, y down, z forward) and fx, fy, cx, cy for a width x height
// image with pixel centres at +0.5 (gsplat). three.js looks down -Z with +Y up, so the camera's pose
// is inverse(viewmat) * diag(1, -1, -1) and the projection is the OpenGL form of the intrinsics.
import * as THREE from "three";

const FLIP_YZ = new THREE.Matrix4().makeScale(1, -1, -1);

// Pose (camera-to-world in three.js axes) of a world->camera matrix given row-major.
export function poseFromViewmat(viewmat) {
  const w2c = new THREE.Matrix4().fromArray(viewmat).transpose();  // fromArray reads column-major
  return w2c.invert().multiply(FLIP_YZ);
}

// The intrinsics scaled to fit a canvas of canvasW x canvasH (whole image visible, centred); at the
// camera's own size this is the identity, so a screenshot reproduces `vgsplat render` pixel for pixel.
export function fitIntrinsics(cam, canvasW, canvasH) {
  const s = Math.min(canvasW / cam.width, canvasH / cam.height);
  return {
    fx: cam.fx * s,
    fy: cam.fy * s,
    cx: cam.cx * s + 0.5 * (canvasW - cam.width * s),
    cy: cam.cy * s + 0.5 * (canvasH - cam.height * s),
  };
}

// OpenGL projection: NDC x = 2u/W - 1, NDC y = 1 - 2v/H for pixel (u, v) = (fx x/z + cx, fy y/z + cy).
export function projectionFromIntrinsics(k, width, height, near, far) {
  const m = new THREE.Matrix4();
  m.set(
    (2 * k.fx) / width, 0, 1 - (2 * k.cx) / width, 0,
    0, (2 * k.fy) / height, (2 * k.cy) / height - 1, 0,
    0, 0, -(far + near) / (far - near), (-2 * far * near) / (far - near),
    0, 0, -1, 0,
  );
  return m;
}

// Moves `camera` (a THREE.PerspectiveCamera) to a vgsplat camera and sets its projection for the canvas.
export function applyPose(camera, cam) {
  poseFromViewmat(cam.viewmat).decompose(camera.position, camera.quaternion, camera.scale);
  camera.updateMatrixWorld(true);
}

export function applyProjection(camera, intrinsics, canvasW, canvasH, near, far) {
  camera.projectionMatrix.copy(projectionFromIntrinsics(intrinsics, canvasW, canvasH, near, far));
  camera.projectionMatrixInverse.copy(camera.projectionMatrix).invert();
}
