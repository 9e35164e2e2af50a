using System.Text;
using MlWordPiece = Microsoft.ML.Tokenizers.WordPieceTokenizer;
using MlWordPieceOptions = Microsoft.ML.Tokenizers.WordPieceOptions;

namespace ModelZoo.Core.Text;

/// <summary>
/// BERT's tokenizer: Hugging Face <c>BertTokenizer</c> / <c>BertTokenizerFast</c> semantics on a <c>vocab.txt</c>,
/// checked id for id against Hugging Face's JS tokenizer (tests/ModelZoo.Core.Tests/Text).
/// <para>
/// The greedy longest-match-first WordPiece step is Microsoft.ML.Tokenizers' <see cref="MlWordPiece"/>; the rest is
/// ours, because its <c>BertTokenizer</c> differs from Hugging Face where it matters here:
/// </para>
/// <list type="bullet">
/// <item>Basic tokenisation (cleaning, CJK, lowercase, accents, punctuation) is <see cref="BasicTokenizer"/>, which
///   follows Hugging Face's definitions by code point.</item>
/// <item>The 100-character limit per word counts code points, as Hugging Face does; the library counts UTF-16
///   units, so a word of 51 emoji would become [UNK] there. The limit is checked here and the library's is lifted.</item>
/// <item>Special tokens written in the text (<c>[SEP]</c>, <c>[MASK]</c>, ...) become their ids, before any
///   normalisation, as Hugging Face's added tokens do; a lowercase <c>[sep]</c> does not.</item>
/// <item>Truncation keeps the first <c>maxLength - 2</c> pieces (Hugging Face's <c>truncation=True</c> for one
///   text), then adds [CLS] and [SEP].</item>
/// </list>
/// Thread-safe after construction.
/// </summary>
public sealed class WordPieceTokenizer
{
    public const int MaxInputCharsPerWord = 100;
    public const string Unk = "[UNK]", Cls = "[CLS]", Sep = "[SEP]", Pad = "[PAD]", Mask = "[MASK]";
    const string Prefix = "##";

    readonly Dictionary<string, int> _ids;
    readonly string[] _tokens;
    readonly MlWordPiece _wordPiece;
    readonly string[] _specials; // present in the vocabulary, longest first

    public bool Lowercase { get; }
    public bool? StripAccents { get; }
    public int VocabSize => _tokens.Length;
    public int UnkId { get; }
    public int ClsId { get; }
    public int SepId { get; }
    public int PadId { get; }
    /// <summary>-1 when the vocabulary has no [MASK] (classification does not need it; MLM does).</summary>
    public int MaskId { get; }

    WordPieceTokenizer(IReadOnlyList<string> tokens, bool lowercase, bool? stripAccents, string source)
    {
        if (tokens.Count == 0) throw new VocabularyException($"{source}: the vocabulary is empty.");
        _ids = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (var i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i] ?? throw new VocabularyException($"{source}: token {i} is null.");
            if (t.Contains('\n') || t.Contains('\r')) throw new VocabularyException($"{source}: token {i} contains a line break.");
            if (!_ids.TryAdd(t, i))
                throw new VocabularyException($"{source}: line {i + 1} repeats the token '{t}' of line {_ids[t] + 1}; every token needs one id.");
        }
        var missing = new[] { Unk, Cls, Sep, Pad }.Where(s => !_ids.ContainsKey(s)).ToList();
        if (missing.Count > 0) throw new VocabularyException($"{source}: the vocabulary lacks {string.Join(", ", missing)}, which BERT needs.");

        _tokens = tokens.ToArray();
        Lowercase = lowercase;
        StripAccents = stripAccents;
        UnkId = _ids[Unk]; ClsId = _ids[Cls]; SepId = _ids[Sep]; PadId = _ids[Pad];
        MaskId = _ids.GetValueOrDefault(Mask, -1);
        _specials = new[] { Unk, Cls, Sep, Pad, Mask }.Where(_ids.ContainsKey).OrderByDescending(s => s.Length).ToArray();

        // The library reads vocab.txt from a stream: one token per line, the line number is the id.
        var text = string.Join('\n', _tokens);
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        _wordPiece = MlWordPiece.Create(stream, new MlWordPieceOptions
        {
            PreTokenizer = null, // each call gets exactly one word from BasicTokenizer
            Normalizer = null,
            UnknownToken = Unk,
            ContinuingSubwordPrefix = Prefix,
            MaxInputCharsPerWord = 4 * MaxInputCharsPerWord, // a code point is at most two UTF-16 units; we check the real limit
        });
    }

    /// <summary>From a Hugging Face <c>vocab.txt</c>: one token per line, the line number (from 0) is its id.</summary>
    public static WordPieceTokenizer FromVocabFile(string path, bool lowercase, bool? stripAccents = null)
    {
        if (!File.Exists(path)) throw new VocabularyException($"{path}: the vocabulary file does not exist.");
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path)); }
        catch (DecoderFallbackException e) { throw new VocabularyException($"{path}: not UTF-8 text ({e.Message})."); }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var lines = text.Split('\n');
        var count = lines.Length;
        if (count > 0 && lines[^1].Length == 0) count--; // the final newline ends the last line, it does not add one
        var tokens = new string[count];
        for (var i = 0; i < count; i++) tokens[i] = lines[i].TrimEnd('\r');
        return new WordPieceTokenizer(tokens, lowercase, stripAccents, path);
    }

    public static WordPieceTokenizer FromTokens(IReadOnlyList<string> tokens, bool lowercase, bool? stripAccents = null) =>
        new(tokens, lowercase, stripAccents, "token list");

    public int? TokenToId(string token) => _ids.TryGetValue(token, out var id) ? id : null;
    public string IdToToken(int id) => _tokens[id];
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>The WordPiece ids of <paramref name="text"/>, no [CLS]/[SEP], no truncation.</summary>
    public List<int> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        var words = new List<string>();
        foreach (var (segment, special) in SplitSpecials(text))
        {
            if (special >= 0) { ids.Add(special); continue; }
            words.Clear();
            BasicTokenizer.SplitInto(BasicTokenizer.Normalize(segment, Lowercase, StripAccents), words);
            foreach (var w in words) AddWord(w, ids);
        }
        return ids;
    }

    /// <summary>The WordPiece tokens as strings (Hugging Face's <c>tokenizer.tokenize</c>).</summary>
    public List<string> TokenizeToStrings(string text) => Tokenize(text).Select(i => _tokens[i]).ToList();

    /// <summary>How many pieces the text makes, without [CLS]/[SEP] and before truncation: for length statistics.</summary>
    public int CountTokens(string text) => Tokenize(text).Count;

    /// <summary>[CLS] pieces [SEP], truncated to <paramref name="maxLength"/>, padded to it when <paramref name="pad"/>.</summary>
    public TextEncoding Encode(string text, int maxLength, bool pad = true)
    {
        CheckMaxLength(maxLength);
        var pieces = Tokenize(text);
        return Build(pieces, maxLength, pad ? maxLength : 0);
    }

    /// <summary>Encodes each text; pads every encoding to the longest in the batch or to <paramref name="maxLength"/>.</summary>
    public IReadOnlyList<TextEncoding> EncodeBatch(IReadOnlyList<string> texts, int maxLength, TextPadding padding = TextPadding.Longest)
    {
        ArgumentNullException.ThrowIfNull(texts);
        CheckMaxLength(maxLength);
        var pieces = texts.Select(Tokenize).ToList();
        var padTo = padding == TextPadding.MaxLength ? maxLength
            : pieces.Count == 0 ? 0 : pieces.Max(p => Math.Min(p.Count, maxLength - 2) + 2);
        return pieces.Select(p => Build(p, maxLength, padTo)).ToList();
    }

    /// <summary>
    /// [CLS] + the first <c>maxLength - 2</c> of <paramref name="pieces"/> (from <see cref="Tokenize"/>) + [SEP],
    /// padded to <paramref name="padTo"/> (0: no padding). For callers that tokenise once and pack many times.
    /// </summary>
    public TextEncoding FromPieces(IReadOnlyList<int> pieces, int maxLength, int padTo = 0)
    {
        CheckMaxLength(maxLength);
        return Build(pieces, maxLength, padTo);
    }

    TextEncoding Build(IReadOnlyList<int> pieces, int maxLength, int padTo)
    {
        var kept = Math.Min(pieces.Count, maxLength - 2);
        var length = Math.Max(kept + 2, padTo);
        var ids = new int[length];
        var mask = new int[length];
        ids[0] = ClsId;
        for (var i = 0; i < kept; i++) ids[i + 1] = pieces[i];
        ids[kept + 1] = SepId;
        for (var i = kept + 2; i < length; i++) ids[i] = PadId;
        Array.Fill(mask, 1, 0, kept + 2);
        return new TextEncoding(ids, mask, new int[length]) { Truncated = kept < pieces.Count };
    }

    static void CheckMaxLength(int maxLength)
    {
        if (maxLength < 3) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "The maximum length must leave room for [CLS], one token and [SEP] (at least 3).");
    }

    void AddWord(string word, List<int> ids)
    {
        // Hugging Face counts characters (code points), not UTF-16 units.
        var chars = 0;
        foreach (var _ in word.EnumerateRunes()) chars++;
        if (chars > MaxInputCharsPerWord) { ids.Add(UnkId); return; }
        var pieces = _wordPiece.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false);
        if (pieces.Count == 0) ids.Add(UnkId);
        else ids.AddRange(pieces);
    }

    // Hugging Face matches added special tokens in the raw text first (normalized = false), longest first.
    IEnumerable<(string Segment, int Special)> SplitSpecials(string text)
    {
        var start = 0;
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '[')
            {
                string? hit = null;
                foreach (var s in _specials)
                    if (string.CompareOrdinal(text, i, s, 0, s.Length) == 0) { hit = s; break; }
                if (hit is not null)
                {
                    if (i > start) yield return (text[start..i], -1);
                    yield return ("", _ids[hit]);
                    i += hit.Length;
                    start = i;
                    continue;
                }
            }
            i++;
        }
        if (start < text.Length) yield return (text[start..], -1);
    }
}
