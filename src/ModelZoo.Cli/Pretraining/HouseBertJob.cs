using System.Diagnostics;
using System.Globalization;
using ModelZoo.Core.Text;
using ModelZoo.Infrastructure.Corpora;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pretraining;
using ModelZoo.Torch.Weights;
using TorchSharp;

namespace ModelZoo.Cli.Pretraining;

/// <summary>Everything the house BERT's run is made of, as the command received it.</summary>
public sealed record HouseBertSpec
{
    public required string OutDir { get; init; }
    public required string CommandLine { get; init; }
    public int VocabSize { get; init; } = 8000;
    public WordPieceScoring Scoring { get; init; } = WordPieceScoring.Frequency;
    public int MinPairFrequency { get; init; } = 2;
    public int HeldOutOneIn { get; init; } = 50;
    /// <summary>Use only the first N documents of each source (quick runs and tests); null: all.</summary>
    public int? MaxDocumentsPerSource { get; init; }
    public required MlmPretrainOptions Train { get; init; }
}

/// <summary>What the run produced, for the manifest and card.</summary>
public sealed record HouseBertOutcome(
    HouseBertSpec Spec, IReadOnlyList<CorpusSource> Sources, int VocabCount, int TrainDocuments, int HeldOutDocuments,
    int TrainSequences, int HeldOutSequences, long TrainTokens, long TrainUnknownTokens, MlmPretrainResult Result, long Params,
    double Gflops, string WeightsSha256, long WeightsSize, DateTimeOffset FinishedAt, string Software);

/// <summary>
/// The house BERT pipeline: corpora (already fetched) → held-out split by document → WordPiece vocabulary from the
/// training documents → packed sequences → MLM pretraining → the zoo folder (fp16 safetensors, vocab.txt,
/// config.json, model.json, README.md), written into a temp folder and moved into place only when complete.
/// </summary>
public static class HouseBertJob
{
    public static HouseBertOutcome Run(HouseBertSpec spec, IReadOnlyList<TextCorpus> corpora, TextWriter log, CancellationToken ct = default)
    {
        var (train, heldOut) = Split(corpora, spec.HeldOutOneIn, spec.MaxDocumentsPerSource);
        log.WriteLine($"corpus: {train.Count:N0} training documents, {heldOut.Count:N0} held out (1 in {spec.HeldOutOneIn} by hash of source and id)");

        var sw = Stopwatch.StartNew();
        var vocab = WordPieceVocabBuilder.Build(train.Select(d => d.Text), spec.VocabSize, spec.Scoring, spec.MinPairFrequency);
        log.WriteLine($"vocabulary: {vocab.Count:N0} pieces ({spec.Scoring} scoring) in {sw.Elapsed.TotalSeconds:F1} s");
        var encoder = WordPieceTokenizer.FromTokens(vocab, lowercase: true);
        var trainIds = train.Select(d => (IReadOnlyList<int>)encoder.Tokenize(d.Text)).ToList();
        var heldIds = heldOut.Select(d => (IReadOnlyList<int>)encoder.Tokenize(d.Text)).ToList();
        long trainTokens = trainIds.Sum(t => (long)t.Count), unk = trainIds.Sum(t => (long)t.Count(i => i == WordPieceVocabBuilder.UnkId));
        int words = train.Sum(d => d.Text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length);
        log.WriteLine($"encoded: {trainTokens:N0} training tokens ({unk:N0} [UNK]), {(double)trainTokens / Math.Max(1, words):F2} pieces per whitespace word");

        var o = spec.Train with { Config = spec.Train.Config with { VocabSize = vocab.Count, PadTokenId = WordPieceVocabBuilder.PadId },
            MaskId = WordPieceVocabBuilder.MaskId, FirstRegularId = WordPieceVocabBuilder.SpecialTokens.Count };
        var trainSeq = PackedSequences.Pack(trainIds, o.SequenceLength, WordPieceVocabBuilder.ClsId, WordPieceVocabBuilder.SepId);
        var heldSeq = PackedSequences.Pack(heldIds, o.SequenceLength, WordPieceVocabBuilder.ClsId, WordPieceVocabBuilder.SepId);
        log.WriteLine($"packed: {trainSeq.GetLength(0):N0} training and {heldSeq.GetLength(0):N0} held-out sequences of {o.SequenceLength} tokens; " +
                      $"{o.Steps:N0} steps x {o.BatchSize} = {(double)o.Steps * o.BatchSize / Math.Max(1, trainSeq.GetLength(0)):F2} epochs");

        using var model = MlmPretrainer.Build(o);
        var parameters = model.ParameterCount();
        log.WriteLine($"model: bert_mlm, {o.Config.NumHiddenLayers} layers, hidden {o.Config.HiddenSize}, {o.Config.NumAttentionHeads} heads, " +
                      $"intermediate {o.Config.IntermediateSize}, {parameters:N0} parameters; device {TorchRuntime.DeviceDescription}");
        var result = MlmPretrainer.Train(model, o, trainSeq, heldSeq, r => log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"step {r.Step,6}/{r.Steps}  loss {r.Loss:F4}  lr {r.LearningRate:E2}  {r.SequencesPerSecond:F1} seq/s  elapsed {r.Elapsed:hh\\:mm\\:ss}  eta {r.Eta:hh\\:mm\\:ss}")), ct);
        var early = result.StoppedEarly ? $" (stopped early at step {result.StepsRun} by the time limit)" : "";
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"held-out: masked-token accuracy {result.HeldOut.MaskedAccuracy:P2}, perplexity {result.HeldOut.Perplexity:F2} over {result.HeldOut.MaskedTokens:N0} masked tokens{early}"));

        var outDir = Path.GetFullPath(spec.OutDir);
        var parent = Path.GetDirectoryName(outDir)!;
        Directory.CreateDirectory(parent);
        var tmp = Directory.CreateDirectory(Path.Combine(parent, $".{Path.GetFileName(outDir)}.tmp-{Guid.NewGuid():N}"));
        try
        {
            var weights = Path.Combine(tmp.FullName, HouseBertFiles.Weights);
            SaveWeights(model, weights);
            WordPieceVocabBuilder.Write(Path.Combine(tmp.FullName, HouseBertFiles.Vocab), vocab);
            File.WriteAllText(Path.Combine(tmp.FullName, HouseBertFiles.Config), ConfigJson(o.Config));
            // What the model saw, as fingerprints: runs count their target's texts found in it (PretrainingCorpora).
            using (var fp = File.Create(Path.Combine(tmp.FullName, HouseBertFiles.Fingerprints)))
                CorpusFingerprints.Of(train.Select(d => d.Text)).Write(fp);
            var outcome = new HouseBertOutcome(spec with { Train = o }, corpora.Select(c => c.Source).ToList(), vocab.Count, train.Count, heldOut.Count,
                trainSeq.GetLength(0), heldSeq.GetLength(0), trainTokens, unk, result, parameters,
                Math.Round(FlopCounter.Count(model, o.SequenceLength).Gflops, 3), Sha256.OfFile(weights), new FileInfo(weights).Length, DateTimeOffset.UtcNow, TorchRuntime.SoftwareVersions);
            File.WriteAllText(Path.Combine(tmp.FullName, "model.json"), HouseBertCard.Manifest(outcome, Path.GetFileName(outDir)));
            File.WriteAllText(Path.Combine(tmp.FullName, "README.md"), HouseBertCard.Readme(outcome));
            ReplaceFolder(tmp.FullName, outDir);
            return outcome;
        }
        finally { if (tmp.Exists) { tmp.Refresh(); if (tmp.Exists) tmp.Delete(recursive: true); } }
    }

    /// <summary>The documents the run uses (the first <paramref name="maxDocumentsPerSource"/> of each corpus, if
    /// given), split into training and held-out by <see cref="HeldOutSplit"/>, in corpus order.</summary>
    public static (List<CorpusDocument> Train, List<CorpusDocument> HeldOut) Split(IReadOnlyList<TextCorpus> corpora, int heldOutOneIn, int? maxDocumentsPerSource)
    {
        var docs = corpora.SelectMany(c => maxDocumentsPerSource is { } max ? c.Documents.Take(max) : c.Documents).ToList();
        return (docs.Where(d => !HeldOutSplit.IsHeldOut(d, heldOutOneIn)).ToList(), docs.Where(d => HeldOutSplit.IsHeldOut(d, heldOutOneIn)).ToList());
    }

    /// <summary>fp16 safetensors under transformers' keys; the tied decoder (weight = word embeddings, bias =
    /// cls.predictions.bias) is left out, as transformers leaves shared tensors out of its safetensors files.</summary>
    static void SaveWeights(BertForMaskedLM model, string path)
    {
        var sd = model.state_dict();
        var kept = sd.Where(kv => !kv.Key.StartsWith("cls.predictions.decoder.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        SafeTensors.Save(path, kept, torch.ScalarType.Float16, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>A transformers config.json for BertForMaskedLM, so BertConfig.FromJson and transformers both read it.</summary>
    public static string ConfigJson(BertConfig c) => c.ToJson("BertForMaskedLM");

    /// <summary>Swaps a finished folder into place: the old one is moved aside first and deleted only after.</summary>
    static void ReplaceFolder(string ready, string target)
    {
        string? old = null;
        if (Directory.Exists(target))
        {
            old = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.old-{Guid.NewGuid():N}");
            Directory.Move(target, old);
        }
        try { Directory.Move(ready, target); }
        catch { if (old is not null) Directory.Move(old, target); throw; }
        if (old is not null) Directory.Delete(old, recursive: true);
    }
}

public static class HouseBertFiles
{
    public const string Weights = "model.safetensors";
    public const string Vocab = "vocab.txt";
    public const string Config = "config.json";
    public const string Fingerprints = "pretraining-fingerprints.bin";
}
