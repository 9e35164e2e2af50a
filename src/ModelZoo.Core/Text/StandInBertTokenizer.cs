using System.Globalization;
using System.Text;

namespace ModelZoo.Core.Text;

// STAND-IN, to be replaced by s2-textrun's BasicTokenizer + WordPieceTokenizer when the lead merges them to main:
// the smallest HF-like (uncased) pre-tokenizer and greedy WordPiece encoder the vocabulary builder and the MLM
// pretraining need, so both are written against one splitting rule before that merge.

/// <summary>HF BertTokenizer's BasicTokenizer, uncased: clean, lower-case, strip accents, split on whitespace and
/// punctuation, and put CJK ideographs on their own.</summary>
internal static class StandInBasicTokenizer
{
    public static List<string> Tokenize(string text)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        void Flush() { if (sb.Length > 0) { words.Add(sb.ToString()); sb.Clear(); } }
        var normalized = text.ToLowerInvariant().Normalize(NormalizationForm.FormD);
        foreach (var rune in normalized.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark) continue;
            if (IsWhitespace(rune)) { Flush(); continue; }
            if (IsPunctuation(rune) || IsCjk(cp)) { Flush(); words.Add(rune.ToString()); continue; }
            sb.Append(rune.ToString());
        }
        Flush();
        return words;
    }

    static bool IsWhitespace(Rune r) => r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r') return false;
        var c = Rune.GetUnicodeCategory(r);
        return c is UnicodeCategory.Control or UnicodeCategory.Format;
    }

    static bool IsPunctuation(Rune r)
    {
        int cp = r.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    static bool IsCjk(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}

/// <summary>HF's greedy longest-match-first WordPiece: a word with no full cover, or over 100 characters, is [UNK].</summary>
internal sealed class StandInWordPieceTokenizer(IReadOnlyDictionary<string, int> vocab, string unk = "[UNK]", int maxCharsPerWord = 100)
{
    public void EncodeWord(string word, List<int> output)
    {
        int unkId = vocab[unk];
        if (word.EnumerateRunes().Count() > maxCharsPerWord) { output.Add(unkId); return; }
        int start = 0, mark = output.Count;
        while (start < word.Length)
        {
            int end = word.Length, found = -1;
            while (start < end)
            {
                var piece = start > 0 ? "##" + word[start..end] : word[start..end];
                if (vocab.TryGetValue(piece, out var id)) { found = id; break; }
                end--;
                if (end > start && char.IsLowSurrogate(word[end])) end--; // never split a surrogate pair
            }
            if (found < 0) { output.RemoveRange(mark, output.Count - mark); output.Add(unkId); return; }
            output.Add(found);
            start = end;
        }
    }
}
