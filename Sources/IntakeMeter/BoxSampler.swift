import CKernels
public import IntakeCodecs

/// Cuts a box of the reference frame out of an aligned photo: how each wheel and dial gets its
/// own upright crop, whatever way the camera was turned.
public enum BoxSampler {
    /// The box's pixels taken from `photo` through `alignment`, bilinear, upright and of the box's
    /// size. Parts of the box that fall outside the photo are black.
    public static func crop(_ photo: RGBImage, box: Box, through alignment: Alignment) -> RGBImage {
        crop(photo, box: box, through: alignment.referenceToPhoto)
    }

    /// The same through any reference → photo transform (tests, or a profile's own reference image
    /// with the identity).
    public static func crop(_ photo: RGBImage, box: Box, through transform: PlaneTransform) -> RGBImage {
        // In C (`intake_box_sample`): the same arithmetic as `PlaneTransform.apply` and a bilinear
        // sample, without Swift's checks on every pixel.
        let matrix = transform.m
        var scratch = [Double](repeating: 0, count: 2 * max(box.width, 1))
        return RGBImage(width: box.width, height: box.height) { out in
            intake_box_sample(photo.storage.base, Int32(photo.width), Int32(photo.height), matrix, Int32(box.x), Int32(box.y),
                              Int32(box.width), Int32(box.height), &scratch, out)
        }
    }
}
