using System.Collections.Concurrent;
using System.Text.Json;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Text;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>A text model of the zoo whose WordPiece vocabulary is on this machine, and how it tokenises.</summary>
public sealed record TextModelVocab(string ModelId, string Title, string VocabPath, bool Lowercase, int MaxLength);

/// <summary>
/// Finds the vocabularies of the zoo's text models, for the dataset page's token-length histogram: a
/// <c>vocab.txt</c> beside the entry's <c>model.json</c> (house models) or beside its imported weights
/// (<c>&lt;DataDir&gt;/weights/&lt;id&gt;/vocab.txt</c>). Lower-casing follows a <c>tokenizer_config.json</c> next to the
/// vocabulary (<c>do_lower_case</c>), else Hugging Face's <c>BertTokenizer</c> default (true). The maximum sequence
/// length is the manifest's input size. Tokenizers are loaded once per file and reused.
/// </summary>
public sealed class TextModelVocabularies(ZooPaths paths, ZooCatalog catalog)
{
    readonly ConcurrentDictionary<(string, DateTime, bool), Lazy<WordPieceTokenizer>> _loaded = new();

    public IReadOnlyList<TextModelVocab> Available()
    {
        var list = new List<TextModelVocab>();
        if (!Directory.Exists(paths.ZooDir)) return list;
        foreach (var dir in Directory.GetDirectories(paths.ZooDir).Order(StringComparer.Ordinal))
        {
            var id = Path.GetFileName(dir);
            var vocab = new[] { Path.Combine(dir, "vocab.txt"), Path.Combine(paths.WeightsDir, id, "vocab.txt") }.FirstOrDefault(File.Exists);
            if (vocab is null) continue;
            if (catalog.ManifestOf(id) is not { } m || !m.Task.StartsWith("text", StringComparison.Ordinal)) continue;
            list.Add(new TextModelVocab(m.Id, m.Title, vocab, LowercaseFor(vocab), m.Preprocessing.InputSize));
        }
        return list;
    }

    static bool LowercaseFor(string vocabPath)
    {
        var config = Path.Combine(Path.GetDirectoryName(vocabPath)!, "tokenizer_config.json");
        if (!File.Exists(config)) return true;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(config));
            return !doc.RootElement.TryGetProperty("do_lower_case", out var v) || v.ValueKind != JsonValueKind.False;
        }
        catch (JsonException) { return true; }
    }

    public WordPieceTokenizer Tokenizer(TextModelVocab v) =>
        _loaded.GetOrAdd((v.VocabPath, File.GetLastWriteTimeUtc(v.VocabPath), v.Lowercase),
            k => new Lazy<WordPieceTokenizer>(() => WordPieceTokenizer.FromVocabFile(k.Item1, k.Item3))).Value;

    /// <summary>Sequence lengths in tokens, [CLS] and [SEP] included, of a seeded sample of at most
    /// <paramref name="sample"/> texts (all of them when there are fewer); texts over the model's maximum are counted.</summary>
    public static LengthDistribution TokenLengths(TextSet texts, WordPieceTokenizer tokenizer, int maxLength, int sample = 5000, int seed = 1,
        CancellationToken ct = default)
    {
        var idx = Enumerable.Range(0, texts.Count).ToArray();
        if (idx.Length > sample)
        {
            new Random(seed).Shuffle(idx);
            idx = idx[..sample];
        }
        var lengths = new int[idx.Length];
        Parallel.For(0, idx.Length, new ParallelOptions { CancellationToken = ct }, i => lengths[i] = tokenizer.CountTokens(texts.Texts[idx[i]]) + 2);
        return LengthDistribution.Of(lengths, limit: maxLength);
    }
}
