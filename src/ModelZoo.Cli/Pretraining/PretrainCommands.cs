using System.CommandLine;
using System.Globalization;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pretraining;

namespace ModelZoo.Cli.Pretraining;

/// <summary>
/// <c>modelzoo pretrain glyphs --arch resnet18|mobilenet_v2|vgg11_bn [--epochs 10] [--batch 64] [--lr 1e-3] [--seed 42]
/// [--size 32] [--head-pool 1 --head-hidden 512] [--train-limit 0] [--threads 2] --out zoo/&lt;arch&gt;.glyphs_house
/// [--force] [--data-dir .data] [--note "..."]</c>: trains the architecture from random initialisation on the built-in
/// glyphs dataset (fetched with apt-get download when missing) and writes a bundled house entry (fp16 weights,
/// model.json, README.md card). The parent command leaves room for other corpora (an <c>mlm</c> subcommand for text).
/// </summary>
public static class PretrainCommands
{
    public static Command Create(params Command[] more)
    {
        var pretrain = new Command("pretrain", "Pretrain house weights on a built-in corpus and write a zoo entry.") { Glyphs() };
        foreach (var c in more) pretrain.Subcommands.Add(c);
        return pretrain;
    }

    static Command Glyphs()
    {
        var arch = new Option<string>("--arch") { Description = "Image architecture from the registry, e.g. resnet18, mobilenet_v2, vgg11_bn.", Required = true };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 10 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-3 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var size = new Option<int>("--size") { Description = "Input side; 32 is the glyphs' native size.", DefaultValueFactory = _ => 32 };
        var headPool = new Option<int?>("--head-pool") { Description = "VGG only: adaptive pool side before the classifier (torchvision: 7)." };
        var headHidden = new Option<int?>("--head-hidden") { Description = "VGG only: width of the hidden classifier layers (torchvision: 4096)." };
        var trainLimit = new Option<int>("--train-limit") { Description = "Train on at most this many images (0 = all): quick trials.", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Entry folder to write, zoo/<arch>.<tag>; the tag is the folder name's part after the first dot.", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace an existing entry folder." };
        var dataDir = new Option<DirectoryInfo?>("--data-dir") { Description = "Data folder holding datasets/ and downloads/ (default: .data beside ModelZoo.sln)." };
        var note = new Option<string?>("--note") { Description = "A note for the training record, e.g. that the machine was shared." };
        var command = new Command("glyphs", "Train an image backbone from scratch on the glyphs dataset (62 classes, test fonts unseen).")
        {
            arch, epochs, batch, lr, seed, size, headPool, headHidden, trainLimit, threads, output, force, dataDir, note,
        };
        command.SetAction((r, ct) => Task.FromResult(Run(new GlyphsPretrainArgs(
            r.GetRequiredValue(arch), r.GetValue(epochs), r.GetValue(batch), r.GetValue(lr), r.GetValue(seed), r.GetValue(size),
            r.GetValue(headPool), r.GetValue(headHidden), r.GetValue(trainLimit), r.GetValue(threads), r.GetRequiredValue(output).FullName,
            r.GetValue(force), r.GetValue(dataDir)?.FullName, r.GetValue(note)), r.InvocationConfiguration.Output, r.InvocationConfiguration.Error, ct)));
        return command;
    }

    public sealed record GlyphsPretrainArgs(
        string Architecture, int Epochs, int Batch, double LearningRate, int Seed, int Size, int? HeadPool, int? HeadHidden,
        int TrainLimit, int Threads, string Out, bool Force, string? DataDir, string? Note);

    /// <summary>The command that reproduces an entry: every training option explicit, the output relative to the repository.</summary>
    public static string Recipe(GlyphsPretrainArgs a, int threads)
    {
        var inv = CultureInfo.InvariantCulture;
        var parts = new List<string>
        {
            "dotnet run --project src/ModelZoo.Cli -c Release -- pretrain glyphs",
            $"--arch {a.Architecture}", $"--epochs {a.Epochs}", $"--batch {a.Batch}", string.Create(inv, $"--lr {a.LearningRate:G}"),
            $"--seed {a.Seed}", $"--size {a.Size}",
        };
        if (a.HeadPool is { } p) parts.Add($"--head-pool {p}");
        if (a.HeadHidden is { } h) parts.Add($"--head-hidden {h}");
        if (a.TrainLimit > 0) parts.Add($"--train-limit {a.TrainLimit}");
        parts.Add($"--threads {threads}");
        parts.Add($"--out zoo/{Path.GetFileName(a.Out.TrimEnd(Path.DirectorySeparatorChar))}");
        return string.Join(" ", parts);
    }

    public static int Run(GlyphsPretrainArgs a, TextWriter o, TextWriter err, CancellationToken ct)
    {
        var registry = ArchitectureRegistry.Default;
        var folder = Path.GetFileName(a.Out.TrimEnd(Path.DirectorySeparatorChar));
        var dot = folder.IndexOf('.');
        string? problem =
            !registry.Contains(a.Architecture) ? $"unknown architecture '{a.Architecture}'. Known: {string.Join(", ", registry.All.Where(i => i.Modality == Modality.Image).Select(i => i.Name).Order())}"
            : registry.Get(a.Architecture).Modality != Modality.Image ? $"{a.Architecture} is not an image architecture"
            : dot <= 0 || folder[..dot] != a.Architecture ? $"--out folder '{folder}' must be named {a.Architecture}.<tag>"
            : a.Epochs < 1 ? "--epochs must be at least 1"
            : a.Batch < 1 ? "--batch must be at least 1"
            : a.LearningRate is <= 0 or > 1 || !double.IsFinite(a.LearningRate) ? "--lr must be in (0, 1]"
            : a.Size is < 16 or > 1024 ? "--size must be between 16 and 1024"
            : a.TrainLimit < 0 ? "--train-limit must be 0 or more"
            : a.Threads < 0 ? "--threads must be 0 or more"
            : (a.HeadPool is not null || a.HeadHidden is not null) && !registry.Get(a.Architecture).AdaptableHead ? $"--head-pool and --head-hidden apply to VGG only, not {a.Architecture}"
            : a.HeadPool is < 1 || a.HeadHidden is < 1 ? "--head-pool and --head-hidden must be at least 1"
            : Directory.Exists(a.Out) && !a.Force ? $"{a.Out} already exists; pass --force to replace it"
            : null;
        if (problem is not null) { err.WriteLine($"error: {problem}"); return ExitCodes.BadInput; }
        var tag = folder[(dot + 1)..];

        TorchRuntime.Initialise(new TorchOptions { Threads = a.Threads, Device = "cpu" });
        var paths = new ZooPaths(new StorageOptions { DataDir = a.DataDir ?? "" }, Directory.GetCurrentDirectory());
        var store = new DatasetStore(paths);
        var stored = store.Find(GlyphsDataset.Id);
        if (stored is null || !GlyphsDataset.IsCurrent(stored))
        {
            if (stored is not null)
                o.WriteLine("The stored glyphs dataset predates its current facts (it records no glyph augmentation profile); rebuilding it from the cached packages.");
            o.WriteLine($"Fetching the glyphs dataset (apt-get download of {GlyphsDataset.Packages.Count} font packages) into {paths.DataDir}");
            GlyphsDataset.FetchAsync(new DebianPackageFetcher(paths.DownloadsDir), store, null, ct).GetAwaiter().GetResult();
        }
        var data = store.Load(GlyphsDataset.Id);
        var spec = new PretrainSpec
        {
            Architecture = a.Architecture, Epochs = a.Epochs, BatchSize = a.Batch, LearningRate = a.LearningRate, Seed = a.Seed,
            InputSize = a.Size, TrainLimit = a.TrainLimit, HeadPoolSize = a.HeadPool, HeadHidden = a.HeadHidden,
        };
        var parent = Path.GetDirectoryName(Path.GetFullPath(a.Out))!;
        Directory.CreateDirectory(parent);
        var staging = Directory.CreateDirectory(Path.Combine(parent, $".tmp-{folder}-{Guid.NewGuid():N}")).FullName;
        try
        {
            o.WriteLine($"pretrain {a.Architecture} on glyphs: {data.Split.Train.Length} train / {data.Split.Validation.Length} validation / {data.Split.Test.Length} test images, " +
                        $"{a.Size}x{a.Size}, {a.Epochs} epochs, batch {a.Batch}, lr {a.LearningRate.ToString("G", CultureInfo.InvariantCulture)}, seed {a.Seed}, {TorchRuntime.DeviceDescription}");
            var outcome = HousePretrainer.Run(registry, data, spec, Path.Combine(staging, HouseEntryWriter.WeightsFileName), new ConsoleProgress(o), ct);
            var facts = new HouseEntryFacts(tag, Recipe(a, TorchRuntime.Threads), LicenseName: null, GlyphsLicenseReasoning, a.Note);
            var manifest = HouseEntryWriter.Write(registry, outcome, data, facts, staging, Path.GetFullPath(a.Out), a.Force);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {a.Out}: test top-1 {manifest.Metrics[0].Value:F2} % (fp16 weights), {manifest.Weights!.Size:N0} bytes, sha256 {manifest.Weights.Sha256}, {outcome.Seconds:F0} s"));
            return ExitCodes.Ok;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Why the glyph entries state no licence. The weights were learnt from images that the project renders from
    /// the fonts; they contain no font outline or program, but they derive from the fonts' glyph shapes.
    /// </summary>
    public const string GlyphsLicenseReasoning =
        "The weights were trained on images rendered from fonts under several licences (training.dataset_license: SIL OFL 1.1, " +
        "GPL-3+ and AGPL-3 with font exceptions, the GUST font licence and the Bitstream Vera licence). The font exceptions and the OFL " +
        "speak of documents and of the fonts themselves; none of them says whether a model trained on rendered glyphs is a " +
        "derivative work, and the project has no legal opinion on it. So no licence is claimed here: whoever redistributes " +
        "these weights should treat the strictest of the font licences (GPL-3+/AGPL-3) as possibly applying.";

    /// <summary>One line per epoch and a step line every 20 steps, so a log shows progress without flooding.</summary>
    sealed class ConsoleProgress(TextWriter o) : IRunProgress
    {
        public void Status(StatusChange status) => o.WriteLine(status.Message);

        public void Step(StepProgress s)
        {
            if (s.Step % 20 != 0 && s.Step != s.StepsPerEpoch) return;
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  epoch {s.Epoch} step {s.Step}/{s.StepsPerEpoch} loss {s.Loss:F4} {s.SamplesPerSecond:F0} img/s"));
            o.Flush();
        }

        public void Epoch(EpochMetrics e)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {e.Epoch}/{e.Epochs}: train loss {e.TrainLoss:F4} acc {e.TrainAccuracy:P2}, val loss {e.ValLoss:F4} acc {e.ValAccuracy:P2}, {e.Seconds:F1} s"));
            o.Flush();
        }
    }
}
