using System.Text;

namespace ModelZoo.Core.Text;

/// <summary>How the builder ranks a candidate merge of two adjacent pieces a, b.</summary>
public enum WordPieceScoring
{
    /// <summary>WordPiece's likelihood rule, freq(ab) / (freq(a) * freq(b)), as the Hugging Face course describes
    /// Google's WordPiece training: it prefers pieces whose parts are seldom seen apart.</summary>
    Likelihood,
    /// <summary>freq(ab), BPE's rule, which Hugging Face tokenizers' WordPieceTrainer actually uses (a BpeTrainer with
    /// the "##" continuing-subword prefix). The default: on the house corpus (3.6 M words, 8,000 pieces) it encoded
    /// the training text in 1.37 pieces per whitespace word against 4.05 for <see cref="Likelihood"/>, which spends
    /// its merges on rare characters' pairs.</summary>
    Frequency,
}

/// <summary>
/// Builds a BERT-style WordPiece vocabulary from a corpus, deterministically (the same texts give the same file).
/// <para>Order of vocab.txt (compact, not bert-base's [PAD]=0 / [UNK]=100 layout):
/// [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4; then every character seen as a word start (ordinal order), then
/// every character seen anywhere as a "##" continuation (ordinal order); then the merged pieces in the order they
/// were learnt. Every character is in the vocabulary in both forms, so no text of the training corpus encodes to
/// [UNK] with <see cref="WordPieceTokenizer"/> (except words over its 100-character limit).</para>
/// <para>Pre-tokenisation is the tokenizer's own (<see cref="BasicTokenizer"/>, uncased), so the pieces learnt are the pieces the
/// tokenizer can use. Merges: words are split into characters ("##" on all but the first); the pair of adjacent
/// pieces with the best score (see <see cref="WordPieceScoring"/>) among pairs seen at least
/// <c>minPairFrequency</c> times is merged everywhere, until the vocabulary has <c>vocabSize</c> entries or no pair
/// is left. Ties go to the more frequent pair, then to the lower piece ids (earlier learnt, then ordinal).</para>
/// </summary>
public static class WordPieceVocabBuilder
{
    public static readonly IReadOnlyList<string> SpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
    public const int PadId = 0, UnkId = 1, ClsId = 2, SepId = 3, MaskId = 4;
    public const string ContinuationPrefix = "##";

    /// <summary>Word counts after the tokenizer's pre-tokenisation.</summary>
    public static Dictionary<string, long> CountWords(IEnumerable<string> texts)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (var w in BasicTokenizer.Tokenize(text, lowercase: true))
                counts[w] = counts.GetValueOrDefault(w) + 1;
        return counts;
    }

    public static IReadOnlyList<string> Build(IEnumerable<string> texts, int vocabSize,
        WordPieceScoring scoring = WordPieceScoring.Frequency, int minPairFrequency = 2) =>
        BuildFromWordCounts(CountWords(texts), vocabSize, scoring, minPairFrequency);

    public static IReadOnlyList<string> BuildFromWordCounts(IReadOnlyDictionary<string, long> wordCounts, int vocabSize,
        WordPieceScoring scoring = WordPieceScoring.Frequency, int minPairFrequency = 2)
    {
        if (vocabSize < SpecialTokens.Count) throw new ArgumentOutOfRangeException(nameof(vocabSize), $"A vocabulary needs at least the {SpecialTokens.Count} special tokens.");
        if (minPairFrequency < 1) throw new ArgumentOutOfRangeException(nameof(minPairFrequency), "must be at least 1.");

        var vocab = new List<string>(SpecialTokens);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Count; i++) ids[vocab[i]] = i;
        int Add(string piece)
        {
            if (ids.TryGetValue(piece, out var id)) return id;
            ids[piece] = vocab.Count; vocab.Add(piece);
            return vocab.Count - 1;
        }

        // Words in ordinal order, so every later step is independent of the dictionary's enumeration order.
        var words = wordCounts.Where(kv => kv.Value > 0 && kv.Key.Length > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var starts = new SortedSet<string>(StringComparer.Ordinal);
        var chars = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (w, _) in words)
        {
            bool first = true;
            foreach (var r in w.EnumerateRunes())
            {
                var s = r.ToString();
                if (first) starts.Add(s);
                chars.Add(s);
                first = false;
            }
        }
        // Every character in both forms: a rare character met mid-word in new text still has a piece.
        foreach (var s in starts.Union(chars, StringComparer.Ordinal).Order(StringComparer.Ordinal)) Add(s);
        foreach (var s in chars.Union(starts, StringComparer.Ordinal).Order(StringComparer.Ordinal)) Add(ContinuationPrefix + s);

        var symbols = new int[words.Count][];
        var freq = new long[words.Count];
        for (int i = 0; i < words.Count; i++)
        {
            var runes = words[i].Key.EnumerateRunes().Select(r => r.ToString()).ToArray();
            symbols[i] = runes.Select((s, j) => ids[j == 0 ? s : ContinuationPrefix + s]).ToArray();
            freq[i] = words[i].Value;
        }

        var pieceFreq = new List<long>(new long[vocab.Count]);
        var pairFreq = new Dictionary<long, long>();
        var where = new Dictionary<long, HashSet<int>>();
        void Contribute(int w, int sign)
        {
            var s = symbols[w];
            var f = freq[w] * sign;
            for (int j = 0; j < s.Length; j++)
            {
                while (pieceFreq.Count <= s[j]) pieceFreq.Add(0);
                pieceFreq[s[j]] += f;
                if (j + 1 == s.Length) continue;
                var key = Key(s[j], s[j + 1]);
                var pf = pairFreq.GetValueOrDefault(key) + f;
                if (pf == 0) { pairFreq.Remove(key); where.Remove(key); continue; }
                pairFreq[key] = pf;
                if (sign > 0)
                {
                    if (!where.TryGetValue(key, out var set)) where[key] = set = [];
                    set.Add(w);
                }
            }
        }
        for (int w = 0; w < words.Count; w++) Contribute(w, +1);

        while (vocab.Count < vocabSize)
        {
            long bestKey = -1, bestFreq = 0; double bestScore = double.NegativeInfinity;
            foreach (var (key, f) in pairFreq)
            {
                if (f < minPairFrequency) continue;
                var (a, b) = Split(key);
                double score = scoring == WordPieceScoring.Frequency ? f : f / ((double)pieceFreq[a] * pieceFreq[b]);
                if (score > bestScore || (score == bestScore && (f > bestFreq || (f == bestFreq && key < bestKey))))
                { bestKey = key; bestFreq = f; bestScore = score; }
            }
            if (bestKey < 0) break;
            var (pa, pb) = Split(bestKey);
            var merged = Add(vocab[pa] + vocab[pb][ContinuationPrefix.Length..]);
            foreach (var w in where[bestKey].Order().ToList())
            {
                Contribute(w, -1);
                symbols[w] = MergeIn(symbols[w], pa, pb, merged);
                Contribute(w, +1);
            }
            // A merge can recreate a piece that already exists ("##a"+"##bc" and "##ab"+"##c"); the pair is gone either way.
            pairFreq.Remove(bestKey);
            where.Remove(bestKey);
        }
        return vocab;
    }

    static long Key(int a, int b) => ((long)a << 32) | (uint)b;
    static (int A, int B) Split(long key) => ((int)(key >> 32), (int)(key & 0xFFFFFFFF));

    static int[] MergeIn(int[] s, int a, int b, int merged)
    {
        var r = new List<int>(s.Length);
        for (int j = 0; j < s.Length; j++)
        {
            if (j + 1 < s.Length && s[j] == a && s[j + 1] == b) { r.Add(merged); j++; }
            else r.Add(s[j]);
        }
        return r.ToArray();
    }

    /// <summary>Writes one piece per line (vocab.txt, as BERT's), to a temp file renamed into place.</summary>
    public static void Write(string path, IReadOnlyList<string> vocab)
    {
        foreach (var piece in vocab)
            if (piece.Length == 0 || piece.Contains('\n') || piece.Contains('\r'))
                throw new ArgumentException($"Piece '{piece}' cannot be written as a vocab.txt line.", nameof(vocab));
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            File.WriteAllText(tmp, string.Join('\n', vocab) + "\n", new UTF8Encoding(false));
            File.Move(tmp, path, overwrite: true);
        }
        finally { if (File.Exists(tmp)) File.Delete(tmp); }
    }
}
