/// Text made safe to put in HTML, in element content or a quoted attribute.
public enum HTMLText {
    /// Escapes by Unicode scalar, not by `Character`: a `<` that follows a prepending mark
    /// (U+0600, which a file name may hold) or a `"` followed by a combining accent is one
    /// grapheme with it, unequal to `"<"`, and would pass through raw.
    public static func escaped(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
