using System.Globalization;
using System.Text;

namespace ModelZoo.Core.Text;

/// <summary>
/// The "basic" half of Hugging Face's BertTokenizer (transformers' <c>BasicTokenizer</c>, tokenizers'
/// <c>BertNormalizer</c> + <c>BertPreTokenizer</c>): clean the text, put spaces around CJK ideographs, optionally
/// lowercase and strip accents, then split on whitespace and punctuation. WordPiece then splits each word.
/// <para>
/// Definitions follow the Hugging Face sources, by code point (never by UTF-16 unit):
/// control = Unicode category C* except tab, newline and carriage return (the Rust <c>BertNormalizer</c>; the
/// Python one only drops Cc and Cf, which differs for private-use and unassigned code points); whitespace = space,
/// tab, newline, carriage return and the Unicode White_Space property; punctuation = ASCII 33-47, 58-64, 91-96,
/// 123-126 plus every Unicode P* category (so <c>$</c>, <c>^</c>, <c>`</c> split although they are symbols);
/// CJK = the CJK Unified Ideographs blocks of BERT's <c>_is_chinese_char</c>, astral extensions included (the JS
/// port tests UTF-16 units and misses those). Lowercasing is full Unicode lowercasing (<c>İ</c> becomes
/// <c>i̇</c>, a final capital sigma becomes <c>ς</c>), as Python's <c>str.lower</c> and JavaScript's
/// <c>toLowerCase</c> do.
/// </para>
/// </summary>
public static class BasicTokenizer
{
    /// <summary>Splits <paramref name="text"/> into words and punctuation marks, after <see cref="Normalize"/>.</summary>
    /// <param name="stripAccents">null follows <paramref name="lowercase"/>, as in Hugging Face.</param>
    public static List<string> Tokenize(string text, bool lowercase, bool? stripAccents = null)
    {
        var words = new List<string>();
        SplitInto(Normalize(text, lowercase, stripAccents), words);
        return words;
    }

    /// <summary>clean_text, CJK spacing, lowercase and accent stripping, in Hugging Face's order.</summary>
    public static string Normalize(string text, bool lowercase, bool? stripAccents = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            var cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) sb.Append(' ');
            else if (IsCjk(cp)) sb.Append(' ').Append(rune.ToString()).Append(' ');
            else sb.Append(rune.ToString());
        }
        var s = sb.ToString();
        if (lowercase) s = Lowercase(s);
        if (stripAccents ?? lowercase) s = StripAccents(s);
        return s;
    }

    /// <summary>Splits already normalised text on whitespace; each punctuation mark becomes its own word.</summary>
    public static void SplitInto(string normalized, List<string> words)
    {
        var word = new StringBuilder();
        foreach (var rune in normalized.EnumerateRunes())
        {
            if (IsWhitespace(rune)) { Flush(word, words); continue; }
            if (IsPunctuation(rune.Value)) { Flush(word, words); words.Add(rune.ToString()); continue; }
            word.Append(rune.ToString());
        }
        Flush(word, words);
    }

    static void Flush(StringBuilder word, List<string> words)
    {
        if (word.Length == 0) return;
        words.Add(word.ToString());
        word.Clear();
    }

    public static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned;
    }

    public static bool IsWhitespace(Rune r) => r.Value is ' ' or '\t' or '\n' or '\r' || Rune.IsWhiteSpace(r);

    public static bool IsPunctuation(int cp)
    {
        if (cp is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126)) return true;
        if (!Rune.IsValid(cp)) return false;
        return Rune.GetUnicodeCategory(new Rune(cp)) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>BERT's <c>_is_chinese_char</c>: the CJK Unified Ideographs blocks (not Hiragana, Katakana or Hangul).</summary>
    public static bool IsCjk(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    /// <summary>NFD, then drop the non-spacing marks (Mn): "café" → "cafe". Hangul syllables decompose into jamo.</summary>
    public static string StripAccents(string s)
    {
        var nfd = s.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(nfd.Length);
        foreach (var rune in nfd.EnumerateRunes())
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark) sb.Append(rune.ToString());
        return sb.ToString();
    }

    /// <summary>
    /// Full lowercasing. .NET's invariant lowercasing is a simple 1:1 mapping, so the two rules of Unicode's
    /// SpecialCasing that Python and JavaScript apply are added: <c>İ</c> (U+0130) → <c>i</c> + combining dot above,
    /// and a capital sigma that ends a word → final sigma <c>ς</c>.
    /// </summary>
    public static string Lowercase(string s)
    {
        var runes = s.EnumerateRunes().ToArray();
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < runes.Length; i++)
        {
            var r = runes[i];
            if (r.Value == 0x0130) sb.Append("i\u0307");
            else if (r.Value == 0x03A3) sb.Append(IsFinalSigma(runes, i) ? 'ς' : 'σ');
            else sb.Append(Rune.ToLowerInvariant(r).ToString());
        }
        return sb.ToString();
    }

    // Unicode's Final_Sigma condition: a cased letter before (skipping case-ignorables) and none after.
    static bool IsFinalSigma(Rune[] runes, int at)
    {
        var before = false;
        for (var j = at - 1; j >= 0; j--)
        {
            if (IsCaseIgnorable(runes[j])) continue;
            before = IsCased(runes[j]);
            break;
        }
        if (!before) return false;
        for (var j = at + 1; j < runes.Length; j++)
        {
            if (IsCaseIgnorable(runes[j])) continue;
            return !IsCased(runes[j]);
        }
        return true;
    }

    static bool IsCased(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    // Case_Ignorable: marks, format characters, modifier letters and symbols, and the word-internal punctuation
    // (apostrophes, full stop, colon, middle dot) that Unicode lists.
    static bool IsCaseIgnorable(Rune r) =>
        r.Value is '\'' or '.' or ':' or '^' or '`' or 0x00A8 or 0x00AD or 0x00AF or 0x00B4 or 0x00B7 or 0x00B8
            or 0x2018 or 0x2019 or 0x2024 or 0x2027
        || Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
}
