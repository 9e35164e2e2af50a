namespace ModelZoo.Core.Text;

/// <summary>Text to WordPiece ids with a vocab.txt's pieces: the uncased BERT pre-tokenisation, then greedy
/// longest-match-first WordPiece per word. No [CLS]/[SEP] are added; pretraining packs documents itself.</summary>
public sealed class BertTextEncoder
{
    readonly StandInWordPieceTokenizer _wordPiece;

    public BertTextEncoder(IReadOnlyList<string> vocab)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Count; i++)
            if (!ids.TryAdd(vocab[i], i)) throw new ArgumentException($"The vocabulary lists '{vocab[i]}' twice (lines {ids[vocab[i]] + 1} and {i + 1}).", nameof(vocab));
        if (!ids.ContainsKey("[UNK]")) throw new ArgumentException("The vocabulary has no [UNK] token.", nameof(vocab));
        Vocab = ids;
        _wordPiece = new StandInWordPieceTokenizer(ids);
    }

    public IReadOnlyDictionary<string, int> Vocab { get; }

    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        foreach (var w in StandInBasicTokenizer.Tokenize(text)) _wordPiece.EncodeWord(w, ids);
        return ids;
    }

    /// <summary>Reads vocab.txt (one piece per line, BERT's format); a blank line or a duplicate is an error.</summary>
    public static IReadOnlyList<string> ReadVocab(string path)
    {
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].Length == 0) throw new FormatException($"{path}: line {i + 1} is empty; vocab.txt holds one piece per line.");
        return lines;
    }
}
