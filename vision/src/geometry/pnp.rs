//! Perspective-n-point: the rotation and translation that carry a rigid 3D
//! model onto its 2D image through a pinhole camera. A scaled-orthographic
//! fit gives the start, a Levenberg-Marquardt refinement of the 6 pose
//! parameters minimises the reprojection error. Written out (no linear
//! algebra crate) because the problem is tiny: 6 unknowns, 3x3 and 6x6
//! systems, a few dozen points.

/// A 3-vector.
pub(crate) type Vec3 = [f64; 3];
/// A 3x3 matrix, row-major.
pub(crate) type Mat3 = [[f64; 3]; 3];

/// A pinhole camera without distortion, in pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Camera {
    pub(crate) focal_px: f64,
    pub(crate) centre_px: [f64; 2],
}

impl Camera {
    /// Where a point in camera coordinates (x right, y down, z forward) lands
    /// in the image.
    pub(crate) fn project(&self, point: Vec3) -> [f64; 2] {
        [
            self.focal_px * point[0] / point[2] + self.centre_px[0],
            self.focal_px * point[1] / point[2] + self.centre_px[1],
        ]
    }
}

/// A rigid transform: camera point = rotation · model point + translation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RigidPose {
    pub(crate) rotation: Mat3,
    pub(crate) translation: Vec3,
}

impl RigidPose {
    // Only the tests place a model with a known pose; the solver works on
    // the rotated point and the translation separately.
    #[cfg(test)]
    pub(crate) fn apply(&self, point: Vec3) -> Vec3 {
        add(mat_vec(&self.rotation, point), self.translation)
    }
}

/// Refinement stops after this many steps (on the demo faces it settles in
/// 5-9 from the scaled-orthographic start) or when the next step would change
/// the pose by less than the tolerances below (under a millionth of a degree,
/// 10 nm).
const MAX_ITERATIONS: usize = 30;
const STEP_TOLERANCE_RAD: f64 = 1e-8;
const STEP_TOLERANCE_MM: f64 = 1e-5;
/// ... or when a step lowers the squared reprojection error by less than
/// this fraction: what is left to gain is far below a pixel.
const RELATIVE_COST_TOLERANCE: f64 = 1e-9;
/// Levenberg-Marquardt damping: start, and the point where the step is
/// shrunk to nothing and refinement gives up.
const INITIAL_DAMPING: f64 = 1e-4;
const MAX_DAMPING: f64 = 1e8;
/// A model point this close to the camera plane (or behind it) makes a pose
/// impossible.
const MIN_DEPTH_MM: f64 = 1e-6;

/// The pose that best maps `model_mm` onto `image_px` (same length, at least
/// 4 non-coplanar points), or `None` when the points admit no pose.
pub(crate) fn solve(camera: &Camera, model_mm: &[Vec3], image_px: &[[f64; 2]]) -> Option<RigidPose> {
    let mut pose = scaled_orthographic(camera, model_mm, image_px)?;
    let mut current = normal_equations(camera, &pose, model_mm, image_px)?;
    let mut damping = INITIAL_DAMPING;
    for _ in 0..MAX_ITERATIONS {
        let (hessian, gradient, cost) = current;
        let mut damped = hessian;
        for (i, row) in damped.iter_mut().enumerate() {
            row[i] += damping * hessian[i][i].max(f64::MIN_POSITIVE);
        }
        // A singular step leaves the pose where it is: it is the best so far.
        let Some(step) = solve_linear(damped, gradient.map(|g| -g)) else {
            break;
        };
        let omega = [step[0], step[1], step[2]];
        let small_rotation = omega.iter().all(|w| w.abs() < STEP_TOLERANCE_RAD);
        let small_translation = step[3..].iter().all(|t| t.abs() < STEP_TOLERANCE_MM);
        if small_rotation && small_translation {
            break;
        }
        let trial = RigidPose {
            rotation: mat_mul(&rodrigues(omega), &pose.rotation),
            translation: add(pose.translation, [step[3], step[4], step[5]]),
        };
        match normal_equations(camera, &trial, model_mm, image_px) {
            Some(next) if next.2 <= cost => {
                let settled = cost - next.2 <= RELATIVE_COST_TOLERANCE * cost;
                pose = trial;
                current = next;
                damping = (damping / 10.0).max(1e-12);
                if settled {
                    break;
                }
            }
            _ => {
                damping *= 10.0;
                if damping > MAX_DAMPING {
                    break;
                }
            }
        }
    }
    Some(pose)
}

/// The start: an affine camera fitted by least squares, its two rows made
/// orthonormal, the depth from its scale (weak perspective).
fn scaled_orthographic(camera: &Camera, model_mm: &[Vec3], image_px: &[[f64; 2]]) -> Option<RigidPose> {
    let count = model_mm.len() as f64;
    let model_centre = model_mm.iter().fold([0.0; 3], |acc, p| add(acc, *p)).map(|v| v / count);
    let image_centre = image_px
        .iter()
        .fold([0.0; 2], |acc, p| [acc[0] + p[0], acc[1] + p[1]])
        .map(|v| v / count);
    let mut scatter = [[0.0; 3]; 3];
    let mut cross_rows = [[0.0; 3]; 2];
    for (m, p) in model_mm.iter().zip(image_px) {
        let m = sub(*m, model_centre);
        let p = [p[0] - image_centre[0], p[1] - image_centre[1]];
        for i in 0..3 {
            for j in 0..3 {
                scatter[i][j] += m[i] * m[j];
            }
            cross_rows[0][i] += p[0] * m[i];
            cross_rows[1][i] += p[1] * m[i];
        }
    }
    let row_x = solve_linear(scatter, cross_rows[0])?;
    let row_y = solve_linear(scatter, cross_rows[1])?;
    let scale_x = norm(row_x);
    let r1 = normalize(row_x)?;
    let r2 = normalize(sub(row_y, scaled(r1, dot(row_y, r1))))?;
    let r3 = cross(r1, r2);
    // The affine rows are focal / depth times the rotation's first two rows.
    let depth_mm = 2.0 * camera.focal_px / (scale_x + norm(row_y));
    let rotation = [r1, r2, r3];
    let centre_in_camera = [
        (image_centre[0] - camera.centre_px[0]) * depth_mm / camera.focal_px,
        (image_centre[1] - camera.centre_px[1]) * depth_mm / camera.focal_px,
        depth_mm,
    ];
    Some(RigidPose {
        rotation,
        translation: sub(centre_in_camera, mat_vec(&rotation, model_centre)),
    })
}

/// Gauss-Newton normal equations (JᵀJ, Jᵀr) and the squared reprojection
/// error at `pose`. The rotation is perturbed on the left, R ← exp([ω]ₓ)·R,
/// so the unknowns are (ω, Δt). `None` if a point falls behind the camera.
fn normal_equations(
    camera: &Camera,
    pose: &RigidPose,
    model_mm: &[Vec3],
    image_px: &[[f64; 2]],
) -> Option<([[f64; 6]; 6], [f64; 6], f64)> {
    let mut hessian = [[0.0; 6]; 6];
    let mut gradient = [0.0; 6];
    let mut cost = 0.0;
    for (m, observed) in model_mm.iter().zip(image_px) {
        let rotated = mat_vec(&pose.rotation, *m);
        let point = add(rotated, pose.translation);
        if point[2] < MIN_DEPTH_MM {
            return None;
        }
        let projected = camera.project(point);
        let f_over_z = camera.focal_px / point[2];
        // d(camera point)/dω = -[R·m]ₓ, d(camera point)/dt = I.
        let a = rotated;
        let d_point = [
            [0.0, a[2], -a[1], 1.0, 0.0, 0.0],
            [-a[2], 0.0, a[0], 0.0, 1.0, 0.0],
            [a[1], -a[0], 0.0, 0.0, 0.0, 1.0],
        ];
        for axis in 0..2 {
            let residual = projected[axis] - observed[axis];
            // d(pixel)/d(camera point) = f/z · (e_axis - point_axis / z · e_z).
            let d_pixel = [
                if axis == 0 { f_over_z } else { 0.0 },
                if axis == 1 { f_over_z } else { 0.0 },
                -f_over_z * point[axis] / point[2],
            ];
            let jacobian: [f64; 6] = std::array::from_fn(|k| (0..3).map(|i| d_pixel[i] * d_point[i][k]).sum::<f64>());
            for i in 0..6 {
                gradient[i] += jacobian[i] * residual;
                for j in 0..6 {
                    hessian[i][j] += jacobian[i] * jacobian[j];
                }
            }
            cost += residual * residual;
        }
    }
    Some((hessian, gradient, cost))
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting; `None`
/// if `a` is singular.
fn solve_linear<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Option<[f64; N]> {
    let scale = a.iter().flatten().fold(0.0_f64, |m, v| m.max(v.abs()));
    for col in 0..N {
        let pivot = (col..N).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        let pivot_size = a[pivot][col].abs();
        if pivot_size.is_nan() || pivot_size <= scale * 1e-14 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (above, below) = a.split_at_mut(col + 1);
        let pivot_row = above[col];
        for (offset, row) in below.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            for (value, pivot_value) in row.iter_mut().zip(pivot_row).skip(col) {
                *value -= factor * pivot_value;
            }
            b[col + 1 + offset] -= factor * b[col];
        }
    }
    let mut x = [0.0; N];
    for row in (0..N).rev() {
        let tail: f64 = (row + 1..N).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    Some(x)
}

/// The rotation by |ω| radians about ω (Rodrigues' formula).
pub(crate) fn rodrigues(omega: Vec3) -> Mat3 {
    let angle = norm(omega);
    let k = if angle > 0.0 {
        scaled(omega, 1.0 / angle)
    } else {
        [0.0; 3]
    };
    let (s, c) = angle.sin_cos();
    let v = 1.0 - c;
    [
        [
            c + k[0] * k[0] * v,
            k[0] * k[1] * v - k[2] * s,
            k[0] * k[2] * v + k[1] * s,
        ],
        [
            k[1] * k[0] * v + k[2] * s,
            c + k[1] * k[1] * v,
            k[1] * k[2] * v - k[0] * s,
        ],
        [
            k[2] * k[0] * v - k[1] * s,
            k[2] * k[1] * v + k[0] * s,
            c + k[2] * k[2] * v,
        ],
    ]
}

pub(crate) fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

fn mat_vec(a: &Mat3, v: Vec3) -> Vec3 {
    std::array::from_fn(|i| dot(a[i], v))
}

fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn scaled(a: Vec3, s: f64) -> Vec3 {
    a.map(|v| v * s)
}

fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

fn normalize(a: Vec3) -> Option<Vec3> {
    let n = norm(a);
    (n > 0.0 && n.is_finite()).then(|| scaled(a, 1.0 / n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_linear_system() {
        // x = (1, -2, 3) for this well-conditioned matrix.
        let a = [[4.0, 1.0, 2.0], [1.0, 5.0, -1.0], [2.0, -1.0, 6.0]];
        let x = solve_linear(a, [8.0, -12.0, 22.0]).expect("regular");
        for (got, want) in x.iter().zip([1.0, -2.0, 3.0]) {
            assert!((got - want).abs() < 1e-12, "{x:?}");
        }
        assert!(solve_linear([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0]).is_none(), "singular");
    }

    #[test]
    fn rodrigues_turns_x_into_y_about_z() {
        let r = rodrigues([0.0, 0.0, std::f64::consts::FRAC_PI_2]);
        let y = mat_vec(&r, [1.0, 0.0, 0.0]);
        for (got, want) in y.iter().zip([0.0, 1.0, 0.0]) {
            assert!((got - want).abs() < 1e-12, "{y:?}");
        }
    }
}
