using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ModelZoo.Core.Text;

/// <summary>
/// Word-for-word overlap between texts and a model's pretraining corpus. A model scored on text it was pretrained on
/// can look better than it is: it may have memorised it. The corpus is kept as a set of fingerprints, not as text:
/// the 64-bit FNV-1a hash of each normalised unit, where a unit is a whole document (of at least
/// <see cref="MinDocumentWords"/> words) or one of its sentences (of at least <see cref="MinSentenceWords"/> words).
/// Normalising (lower case, accents and punctuation dropped, whitespace collapsed) makes "exact" forgive what a
/// dataset's own formatting changes, and nothing else. A text overlaps when it, or one of its sentences, is a unit.
/// </summary>
public static partial class TextFingerprint
{
    /// <summary>Shorter sentences ("He said no.") recur in any English text; eight words rarely do by chance.</summary>
    public const int MinSentenceWords = 8;
    /// <summary>A whole short text (a quote, a gloss) counts from four words.</summary>
    public const int MinDocumentWords = 4;

    /// <summary>Lower-cased, accents removed, every run of non-letters and non-digits a single space, trimmed.</summary>
    public static string Normalise(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        var space = false;
        foreach (var ch in decomposed)
        {
            var cat = CharUnicodeInfo.GetUnicodeCategory(ch);
            if (cat == UnicodeCategory.NonSpacingMark) continue;
            if (char.IsLetterOrDigit(ch))
            {
                if (space && sb.Length > 0) sb.Append(' ');
                sb.Append(char.ToLowerInvariant(ch));
                space = false;
            }
            else space = true;
        }
        return sb.ToString();
    }

    /// <summary>FNV-1a 64 of the normalised text's UTF-8 bytes.</summary>
    public static ulong Hash(string normalised)
    {
        var h = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(normalised)) { h ^= b; h *= 1099511628211UL; }
        return h;
    }

    /// <summary>The units of a text, normalised: the whole text when long enough, and each long enough sentence.
    /// Sentences end at ., ! or ? followed by space, or at a blank line.</summary>
    public static IEnumerable<string> Units(string text)
    {
        var whole = Normalise(text);
        if (Words(whole) >= MinDocumentWords) yield return whole;
        var pieces = SentenceEnd().Split(text);
        if (pieces.Length < 2) yield break;
        foreach (var piece in pieces)
        {
            var s = Normalise(piece);
            if (Words(s) >= MinSentenceWords && s != whole) yield return s;
        }
    }

    static int Words(string normalised) => normalised.Length == 0 ? 0 : normalised.Count(c => c == ' ') + 1;

    [GeneratedRegex(@"(?<=[.!?])\s+|\n\s*\n")]
    private static partial Regex SentenceEnd();
}

/// <summary>
/// A pretraining corpus as a sorted set of unit fingerprints (<see cref="TextFingerprint"/>), stored in a small
/// binary file beside the model: the magic <c>MZFP1</c>, a little-endian count, then the sorted hashes.
/// </summary>
public sealed class CorpusFingerprints
{
    static readonly byte[] Magic = "MZFP1"u8.ToArray();
    readonly ulong[] _sorted;

    CorpusFingerprints(ulong[] sorted) => _sorted = sorted;

    public int Count => _sorted.Length;

    public bool Contains(ulong hash) => Array.BinarySearch(_sorted, hash) >= 0;

    public static CorpusFingerprints Of(IEnumerable<string> documents)
    {
        var set = new HashSet<ulong>();
        foreach (var d in documents)
            foreach (var u in TextFingerprint.Units(d)) set.Add(TextFingerprint.Hash(u));
        var sorted = set.ToArray();
        Array.Sort(sorted);
        return new CorpusFingerprints(sorted);
    }

    public void Write(Stream s)
    {
        s.Write(Magic);
        Span<byte> buf = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(buf, _sorted.Length);
        s.Write(buf[..4]);
        foreach (var h in _sorted) { BinaryPrimitives.WriteUInt64LittleEndian(buf, h); s.Write(buf); }
    }

    /// <summary>Reads a fingerprint file; a wrong magic, a count that does not match the length, or hashes out of
    /// order are refused (a truncated or foreign file would otherwise answer "no overlap").</summary>
    public static CorpusFingerprints Read(byte[] bytes)
    {
        if (bytes.Length < Magic.Length + 4 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException("not a fingerprint file (no MZFP1 header)");
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(Magic.Length, 4));
        var offset = Magic.Length + 4;
        if (count < 0 || (long)count * 8 != bytes.Length - offset)
            throw new InvalidDataException($"the header says {count} fingerprints but the file holds {(bytes.Length - offset) / 8.0:0.#}");
        var sorted = new ulong[count];
        for (var i = 0; i < count; i++)
        {
            sorted[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset + 8 * i, 8));
            if (i > 0 && sorted[i] <= sorted[i - 1]) throw new InvalidDataException($"fingerprint {i} is out of order");
        }
        return new CorpusFingerprints(sorted);
    }

    /// <summary>Whether the text, or one of its sentences, is a unit of the corpus.</summary>
    public bool Overlaps(string text) => TextFingerprint.Units(text).Any(u => Contains(TextFingerprint.Hash(u)));

    /// <summary>Counts the overlapping texts of each split and keeps the first few as examples.</summary>
    public PretrainingOverlap Measure(string corpus, IReadOnlyList<string> texts, IEnumerable<(string Split, int[] Indices)> splits, int keepExamples = 3)
    {
        var results = new List<SplitOverlap>();
        var examples = new List<string>();
        foreach (var (split, indices) in splits)
        {
            var n = 0;
            foreach (var i in indices)
            {
                if (!Overlaps(texts[i])) continue;
                n++;
                if (examples.Count < keepExamples) examples.Add(Excerpt(texts[i]));
            }
            results.Add(new SplitOverlap(split, indices.Length, n));
        }
        return new PretrainingOverlap(corpus, Count, results, examples);
    }

    static string Excerpt(string text)
    {
        var t = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return t.Length <= 160 ? t : t[..157] + "...";
    }
}

/// <summary>How much of a dataset the model's pretraining corpus holds word for word, per split.</summary>
/// <param name="Corpus">What the corpus is, as the model's manifest describes it.</param>
/// <param name="CorpusUnits">Fingerprints in the corpus (documents and sentences).</param>
/// <param name="Examples">A few overlapping texts, shortened, so a reader sees what matched.</param>
public sealed record PretrainingOverlap(string Corpus, int CorpusUnits, IReadOnlyList<SplitOverlap> Splits, IReadOnlyList<string> Examples)
{
    public SplitOverlap? Test => Splits.FirstOrDefault(s => s.Split == "test");
    public bool Any => Splits.Any(s => s.Overlapping > 0);
}

public sealed record SplitOverlap(string Split, int Examples, int Overlapping)
{
    public double Fraction => Examples == 0 ? 0 : (double)Overlapping / Examples;
}
