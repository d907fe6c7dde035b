//! A 3D mean face for the 68 iBUG 300-W landmarks, in millimetres: the model
//! the head-pose fit turns and projects until it lands on the detected points.
//!
//! How the coordinates were obtained, in two steps. Across (x) and in depth
//! (z): built by hand, symmetric about the mid-sagittal plane, from average
//! adult anthropometric distances (Farkas' norms, rounded): outer eye corners
//! 90 mm apart, inner corners 32 mm, eye 29 mm wide and 9 mm open (eye aspect
//! ratio 0.31), nose 32 mm wide, mouth 50 mm wide, face contour 140 mm wide
//! at the eyes and 100 mm at the jaw angle; depths from a typical facial
//! profile (eye corners 25–38 mm behind the nose tip, mouth corners 33 mm,
//! chin 27 mm, face contour 60–85 mm). Heights (y): the iBUG points are not
//! the anatomical ones (27 sits at eye level, not at the nasion; 0 and 16 at
//! the eyes, not the ears), so each point's height is the median, over the
//! demo fixtures' 82 landmark sets (face-api's full and tiny nets on 41
//! faces), of its distance below the eye centres along the face's vertical
//! axis, in units of the eye-to-mouth-corner distance (set to 63 mm), made
//! symmetric. The eyes keep their anthropometric shape around that median
//! eye line, and the mouth is closed at rest (the photos mostly smile). It
//! only has to be close enough for a rigid fit to find the head's rotation.
//!
//! Axes, chosen to coincide with the camera's when the face looks straight at
//! it: x towards the person's own left (the image's right, the camera image
//! being unmirrored), y down, z away from the camera. Origin: the nose tip.

/// The mean face, indexed like the 68 landmarks.
pub(crate) const MEAN_FACE_MM: [[f64; 3]; 68] = [
    // 0-16: face contour, from the image's left (the person's right ear) over
    // the chin to the image's right.
    [-70.0, -39.5, 85.0],
    [-69.0, -22.0, 85.0],
    [-67.0, -5.0, 83.0],
    [-64.0, 9.5, 80.0],
    [-59.0, 25.5, 72.0],
    [-51.0, 39.0, 60.0],
    [-40.0, 49.0, 46.0],
    [-22.0, 59.0, 32.0],
    [0.0, 65.0, 27.0],
    [22.0, 59.0, 32.0],
    [40.0, 49.0, 46.0],
    [51.0, 39.0, 60.0],
    [59.0, 25.5, 72.0],
    [64.0, 9.5, 80.0],
    [67.0, -5.0, 83.0],
    [69.0, -22.0, 85.0],
    [70.0, -39.5, 85.0],
    // 17-21: the brow on the image's left, outer end first; 22-26 its mirror,
    // inner end first.
    [-52.0, -56.0, 42.0],
    [-43.0, -61.5, 32.0],
    [-32.0, -62.5, 25.0],
    [-20.0, -61.0, 21.0],
    [-9.0, -57.0, 19.0],
    [9.0, -57.0, 19.0],
    [20.0, -61.0, 21.0],
    [32.0, -62.5, 25.0],
    [43.0, -61.5, 32.0],
    [52.0, -56.0, 42.0],
    // 27-30: nose bridge, nasion down to the tip.
    [0.0, -36.0, 19.0],
    [0.0, -22.5, 13.0],
    [0.0, -11.0, 6.5],
    [0.0, 0.0, 0.0],
    // 31-35: nose base, image-left nostril wing to image-right.
    [-16.0, 5.0, 22.0],
    [-8.0, 7.0, 17.0],
    [0.0, 9.0, 15.0],
    [8.0, 7.0, 17.0],
    [16.0, 5.0, 22.0],
    // 36-41: the eye on the image's left (the person's right): outer corner,
    // upper lid, inner corner, lower lid.
    [-45.0, -39.5, 38.0],
    [-37.0, -44.0, 27.0],
    [-25.0, -44.0, 25.0],
    [-16.0, -39.5, 27.0],
    [-25.0, -35.0, 25.0],
    [-37.0, -35.0, 27.0],
    // 42-47: its mirror: inner corner, upper lid, outer corner, lower lid.
    [16.0, -39.5, 27.0],
    [25.0, -44.0, 25.0],
    [37.0, -44.0, 27.0],
    [45.0, -39.5, 38.0],
    [37.0, -35.0, 27.0],
    [25.0, -35.0, 25.0],
    // 48-59: outer lip, image-left corner, over the upper lip, image-right
    // corner, back under the lower lip.
    [-25.0, 26.5, 33.0],
    [-15.0, 21.5, 23.0],
    [-6.0, 19.5, 18.0],
    [0.0, 21.0, 17.0],
    [6.0, 19.5, 18.0],
    [15.0, 21.5, 23.0],
    [25.0, 26.5, 33.0],
    [15.0, 33.0, 23.0],
    [7.0, 38.0, 20.0],
    [0.0, 39.0, 20.0],
    [-7.0, 38.0, 20.0],
    [-15.0, 33.0, 23.0],
    // 60-67: inner lip, closed mouth, same order.
    [-20.0, 26.5, 31.0],
    [-7.0, 26.0, 20.0],
    [0.0, 26.0, 19.0],
    [7.0, 26.0, 20.0],
    [20.0, 26.5, 31.0],
    [7.0, 27.0, 21.0],
    [0.0, 27.0, 20.0],
    [-7.0, 27.0, 21.0],
];

/// The landmarks the pose fit uses: the rigid, well-localised ones (brows,
/// nose, eyes, outer lip, chin). The rest of the face contour is left out: it
/// is a silhouette that slides over the cheek as the head turns, so it is no
/// fixed point of the face; the inner lip moves with speech.
pub(crate) const POSE_LANDMARKS: [usize; 44] = [
    8, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44,
    45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59,
];
