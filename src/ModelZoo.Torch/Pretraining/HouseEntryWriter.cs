using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Torch.Pretraining;

/// <summary>What the entry says beyond the measured facts: its tag, the licence reasoning and any qualifying note.</summary>
public sealed record HouseEntryFacts(string Tag, string Command, string? LicenseName, string LicenseReasoning, string? Note);

/// <summary>
/// Writes a house entry, <c>zoo/&lt;architecture&gt;.&lt;tag&gt;/</c>: the fp16 weights, <c>model.json</c> (validated
/// against the one schema before anything is written) and the <c>README.md</c> card. Everything goes to a temporary
/// sibling folder first and is renamed into place, so a failure leaves no half-written entry.
/// </summary>
public static class HouseEntryWriter
{
    public const string WeightsFileName = "model.safetensors";

    /// <summary>Builds the manifest and card around the trained weights and moves the folder to <paramref name="entryDir"/>.</summary>
    /// <param name="stagingDir">The temporary folder that already holds <see cref="WeightsFileName"/> (where the
    /// pretrainer saved it); it becomes the entry.</param>
    /// <summary>The run's training augmentations (the pipeline applies the dataset's profile, seeded; evaluation never
    /// augments), in words for the record, so the recipe is complete without reading code.</summary>
    static string Augmentations(AugmentationProfile a) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"seeded training augmentations: random resized crop of at least {a.MinCropScale:P0} of the area, rotation up to {a.MaxRotationDegrees:0.#} degrees, colour jitter {a.ColorJitter:0.##}, {(a.HorizontalFlip ? "horizontal flips" : "no flips")}");

    public static ModelManifest Write(ArchitectureRegistry registry, PretrainOutcome outcome, LoadedDataset data, HouseEntryFacts facts,
        string stagingDir, string entryDir, bool replace)
    {
        var inv = CultureInfo.InvariantCulture;
        var d = outcome.Draft;
        var id = $"{d.Architecture}.{facts.Tag}";
        var weightsPath = Path.Combine(stagingDir, WeightsFileName);
        var sha = Sha256.OfFile(weightsPath);
        var options = ArchitectureOptions.Of(d);
        var parameters = registry.CountParameters(d.Architecture, options);
        double gflops;
        using (var model = HousePretrainer.LoadStrict(registry, d, weightsPath))
            gflops = Math.Round(FlopCounter.Count(model, d.Preprocessing.InputSize).Gflops, 3);
        var t = outcome.Training;
        var h = t.Result;
        var split = data.Split;
        var top1 = Math.Round(outcome.SavedTestTop1 * 100, 2);
        var metricSource = $"measured by the pretraining command (training.command) on {t.Device}, {t.Result.TestExamples} test images; weights as shipped (fp16)";
        var shape = d.Head.PoolSize is not null || d.Head.Hidden is not null
            ? $" Head adapted to the small input: adaptive pool {d.Head.PoolSize ?? Vgg.ReferencePool}x{d.Head.PoolSize ?? Vgg.ReferencePool}, hidden width {d.Head.Hidden ?? Vgg.ReferenceHidden} (torchvision's module names kept)."
            : "";
        var manifest = d with
        {
            Id = id,
            Tag = facts.Tag,
            Title = $"{d.Architecture} (house, {data.Info.Id} {d.Preprocessing.InputSize}x{d.Preprocessing.InputSize})",
            Summary = $"House-pretrained from random initialisation on the built-in '{data.Info.Id}' dataset ({data.Info.ClassNames.Count} classes, " +
                      $"{d.Preprocessing.InputSize}x{d.Preprocessing.InputSize}). Ships with the portal: available offline, no import.{shape}",
            Head = d.Head with { ClassesSource = $"dataset '{data.Info.Id}' class names, in order: {string.Concat(data.Info.ClassNames)}" },
            Weights = new WeightsInfo { File = WeightsFileName, Format = "safetensors", Sha256 = sha, Size = new FileInfo(weightsPath).Length, Bundled = true },
            Metrics =
            [
                new PublishedMetric { Name = "top1", Value = top1, Dataset = $"{data.Info.Id} test split (font designs never seen in training)", Source = metricSource },
            ],
            Params = parameters,
            Gflops = gflops,
            License = new LicenseInfo { Name = facts.LicenseName, Source = facts.LicenseReasoning },
            Provenance = $"Trained by this project's `modelzoo pretrain {data.Info.Id}` command (see training.command) from a random initialisation; " +
                         $"data: {data.Info.Provenance}",
            Recipe = facts.Command,
            Sources = ["this entry's training record (training.*), written by the command that trained the weights"],
            Training = new TrainingRecord
            {
                Dataset = $"{data.Info.Id}: {data.Info.Title}. {data.Info.Description}",
                DatasetProvenance = data.Info.Provenance,
                DatasetLicense = data.Info.License,
                Split = string.Create(inv, $"train {h.TrainExamples:N0} / validation {split.Validation.Length:N0} / test {split.Test.Length:N0} images. {data.Info.SplitMethod}"),
                Command = facts.Command,
                Strategy = "full training from random initialisation (every layer learns; the trainer's full fine-tune strategy with no weights to start from, AdamW, layer-wise learning-rate decay 0.7 per stage from the head down); " +
                           Augmentations(AugmentationProfile.For(data.Info)),
                Epochs = outcome.Spec.Epochs,
                BatchSize = outcome.Spec.BatchSize,
                LearningRate = outcome.Spec.LearningRate,
                Seed = outcome.Spec.Seed,
                TrainExamples = h.TrainExamples,
                TrainSeconds = Math.Round(outcome.Seconds, 1),
                Device = t.Device,
                Threads = t.Threads,
                Software = t.SoftwareVersions,
                FinishedAt = DateTimeOffset.UtcNow,
                Note = facts.Note,
            },
        };
        var problems = ManifestValidator.Validate(manifest, id);
        if (problems.Count > 0) throw new InvalidOperationException($"The house entry {id} would be invalid: {string.Join("; ", problems)}");

        File.WriteAllText(Path.Combine(stagingDir, "model.json"), JsonSerializer.Serialize(manifest, ModelManifest.Json) + "\n");
        File.WriteAllText(Path.Combine(stagingDir, "README.md"), Card(manifest, outcome, data));
        if (Directory.Exists(entryDir))
        {
            if (!replace) throw new IOException($"{entryDir} already exists; pass --force to replace it.");
            var old = entryDir.TrimEnd(Path.DirectorySeparatorChar) + ".old-" + Guid.NewGuid().ToString("N");
            Directory.Move(entryDir, old);
            Directory.Move(stagingDir, entryDir);
            Directory.Delete(old, recursive: true);
        }
        else Directory.Move(stagingDir, entryDir);
        return manifest;
    }

    static string Card(ModelManifest m, PretrainOutcome o, LoadedDataset data)
    {
        var inv = CultureInfo.InvariantCulture;
        var t = m.Training!;
        var r = o.Training.Result;
        var sb = new StringBuilder();
        sb.AppendLine($"# {m.Title}");
        sb.AppendLine();
        sb.AppendLine(m.Summary);
        sb.AppendLine();
        sb.AppendLine("## What it was trained on");
        sb.AppendLine();
        sb.AppendLine($"- **Dataset:** {t.Dataset}");
        sb.AppendLine($"- **Split:** {t.Split}");
        sb.AppendLine($"- **Data provenance:** {t.DatasetProvenance}");
        sb.AppendLine($"- **Data licences:** {t.DatasetLicense}");
        sb.AppendLine($"- **Input:** {m.Preprocessing.InputSize}x{m.Preprocessing.InputSize}, grey glyphs repeated to three channels, " +
                      string.Create(inv, $"normalised with mean {m.Preprocessing.Mean[0]} and std {m.Preprocessing.Std[0]} (the training pixels' own), no augmentation."));
        sb.AppendLine($"- **Nothing else:** no ImageNet or other data; the weights start from a random initialisation (seed {t.Seed}).");
        sb.AppendLine();
        sb.AppendLine("## Result");
        sb.AppendLine();
        sb.AppendLine(string.Create(inv, $"- **Top-1 on the test split** (font designs never seen in training), weights as shipped (fp16): **{m.Metrics[0].Value:F2} %** of {r.TestExamples:N0} images."));
        sb.AppendLine(string.Create(inv, $"- Same weights in fp32 before rounding: {r.TestAccuracy * 100:F2} %; best validation top-1 {r.BestValAccuracy * 100:F2} % (epoch {r.BestEpoch})."));
        sb.AppendLine(string.Create(inv, $"- Parameters: {m.Params:N0}; GFLOPs at {m.Preprocessing.InputSize}x{m.Preprocessing.InputSize}: {m.Gflops:F3} (FlopCounter)."));
        sb.AppendLine();
        sb.AppendLine("## How it was made");
        sb.AppendLine();
        sb.AppendLine($"- **Command:** `{t.Command}`");
        sb.AppendLine(string.Create(inv, $"- **Training:** {t.Strategy}; {t.Epochs} epochs, batch {t.BatchSize}, learning rate {t.LearningRate}, seed {t.Seed}, {t.TrainExamples:N0} training images."));
        sb.AppendLine(string.Create(inv, $"- **Time and device:** {t.TrainSeconds:F0} s on {t.Device}, {t.Threads} threads; {t.Software}; finished {t.FinishedAt:yyyy-MM-dd HH:mm} UTC."));
        if (t.Note is not null) sb.AppendLine($"- **Note:** {t.Note}");
        sb.AppendLine($"- **Weights file:** `{m.Weights!.File}`, fp16 safetensors, {m.Weights.Size:N0} bytes, sha256 `{m.Weights.Sha256}`.");
        sb.AppendLine();
        sb.AppendLine("## Licence");
        sb.AppendLine();
        sb.AppendLine(m.License.Name is null ? $"No licence is stated for these weights. {m.License.Source}" : $"{m.License.Name}. {m.License.Source}");
        return sb.ToString();
    }
}
