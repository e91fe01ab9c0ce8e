#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

import IntakeConfig

/// A proposed profile written out as a TOML file a person can read and correct.
public enum MeterProfileText {
    public static func render(meter: String, reference: String, proposal: MeterSetup.Proposal) -> String {
        var text = """
            # Profile of meter \(meter), proposed by `intake meter setup` from one photo. Check every box
            # on the overlay picture it wrote, and the lines marked UNSURE, before relying on it.
            # Coordinates are pixels of the reference image: x to the right, y down, (x, y) a box's top-left.

            """
        for doubt in proposal.doubts { text += "# UNSURE: \(doubt)\n" }
        let decimals = proposal.decimals
        let tolerance = pow(10, -Double(max(0, decimals - 1)))
        text += """

            name = \(TOMLSyntax.quoted(meter))
            reference = \(TOMLSyntax.quoted(reference))
            unit = "m3"
            decimals = \(decimals)
            # Ten steps of the finest dial.
            tolerance = \(decimals > 0 ? AlignmentError.format(tolerance, decimals: decimals) : "1")
            # Photos are aligned by the meter's own landmarks: no marks are needed.

            """
        for wheel in proposal.wheels {
            text += "\n[[wheels]]\nx = \(wheel.box.x)\ny = \(wheel.box.y)\nwidth = \(wheel.box.width)\nheight = \(wheel.box.height)\nplace = \(AlignmentError.format(wheel.place, decimals: 0))\n"
        }
        for dial in proposal.dials {
            text += "\n[[dials]]\nx = \(dial.box.x)\ny = \(dial.box.y)\nwidth = \(dial.box.width)\nheight = \(dial.box.height)\nfactor = \(AlignmentError.format(dial.factor, decimals: 8))\n"
        }
        return text
    }
}
