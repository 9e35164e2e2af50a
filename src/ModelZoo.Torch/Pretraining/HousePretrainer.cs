using ModelZoo.Torch.Pipeline;
using System.Globalization;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Pretraining;

/// <summary>What one house pretraining trains: an architecture (with its head shape) on a loaded dataset.</summary>
public sealed record PretrainSpec
{
    public required string Architecture { get; init; }
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    public int Seed { get; init; } = 42;
    /// <summary>Input side. 32 is the glyphs' native size; the architectures keep their reference strides.</summary>
    public int InputSize { get; init; } = 32;
    /// <summary>At most this many training examples (0 = all): the tests train on a slice.</summary>
    public int TrainLimit { get; init; }
    /// <summary>VGG head adapted to small inputs (see <see cref="ArchitectureOptions"/>); null keeps the reference.</summary>
    public int? HeadPoolSize { get; init; }
    public int? HeadHidden { get; init; }
}

/// <summary>The trained weights (an fp16 safetensors file) and the facts a house entry records about them.</summary>
public sealed record PretrainOutcome(
    PretrainSpec Spec,
    ModelManifest Draft,
    string WeightsFile,
    TrainingOutcome Training,
    /// <summary>Test-split top-1 of the weights as saved (fp16), which is what the entry ships and reports.</summary>
    double SavedTestTop1,
    double Seconds);

/// <summary>
/// Trains an architecture from random initialisation on a dataset with the shared <see cref="Trainer"/> (full
/// training, every layer learning), then keeps the trained weights: they are rounded to fp16 in place, saved as
/// safetensors, loaded back strictly into a fresh module and evaluated on the test split, so the metric an entry
/// reports is measured on exactly the file it ships.
/// </summary>
public static class HousePretrainer
{
    /// <param name="observe">Sees the trained model after its weights were rounded to what the file holds (tests
    /// compare its logits with a module loaded from the file).</param>
    public static PretrainOutcome Run(ArchitectureRegistry registry, LoadedDataset data, PretrainSpec spec, string weightsPath,
        IRunProgress progress, CancellationToken ct, Action<ZooModel>? observe = null)
    {
        if (data.Images is null) throw new ArgumentException($"Dataset {data.Info.Id} holds no images; house vision backbones train on images.");
        var info = registry.Get(spec.Architecture);
        if (info.Modality != Modality.Image) throw new ArgumentException($"{spec.Architecture} is not an image architecture.");
        var (mean, std) = PixelStatistics(data.Images, data.Split.Train);
        var draft = new ModelManifest
        {
            Architecture = spec.Architecture,
            Family = info.Family,
            Task = "image-classification",
            Preprocessing = new Preprocessing
            {
                InputSize = spec.InputSize,
                Interpolation = "bilinear",
                Mean = [mean, mean, mean],
                Std = [std, std, std],
            },
            Head = new HeadInfo { NumClasses = data.Info.ClassNames.Count, PoolSize = spec.HeadPoolSize, Hidden = spec.HeadHidden },
        };
        // Built here only to learn the classifier path; the trainer builds its own, seeded, model.
        var classifier = TorchRuntime.OnMeta(() => registry.Create(spec.Architecture, ArchitectureOptions.Of(draft)), m => m.ClassifierPrefix);
        draft = draft with { Head = draft.Head with { Classifier = classifier } };

        var request = new RunRequest
        {
            ModelId = $"{spec.Architecture}.pretrain",
            DatasetId = data.Info.Id,
            // From random initialisation every layer must learn; with no weights to load, full fine-tuning is
            // full training. Its layer-wise decay gives the stem the smallest steps, and the constant rate is the
            // recipe the house weights were first trained with.
            Strategy = "full-fine-tune",
            HyperParameters = new HyperParameters
            {
                Epochs = spec.Epochs, BatchSize = spec.BatchSize, LearningRate = spec.LearningRate, Seed = spec.Seed,
                ImageSize = spec.InputSize, TrainLimit = spec.TrainLimit, Schedule = LearningRateSchedule.Constant,
            },
        };
        var outDir = Path.GetDirectoryName(Path.GetFullPath(weightsPath))!;
        var job = new TrainingJob(Guid.NewGuid(), request, draft, data, WeightsPath: null, outDir);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var outcome = new Trainer(registry).Train(job, progress, ct, trained: model =>
        {
            RoundToHalf(model);
            SafeTensors.Save(weightsPath, model.state_dict(), ScalarType.Float16, new Dictionary<string, string>
            {
                ["architecture"] = spec.Architecture,
                ["dataset"] = data.Info.Id,
                ["format"] = "pt",
            });
            observe?.Invoke(model);
        });
        var seconds = watch.Elapsed.TotalSeconds;
        var savedTop1 = EvaluateFile(registry, draft, weightsPath, data, ct);
        return new PretrainOutcome(spec, draft, weightsPath, outcome, savedTop1, seconds);
    }

    /// <summary>Test-split top-1 of a module loaded strictly from <paramref name="weightsPath"/>.</summary>
    public static double EvaluateFile(ArchitectureRegistry registry, ModelManifest manifest, string weightsPath, LoadedDataset data, CancellationToken ct)
    {
        using var model = LoadStrict(registry, manifest, weightsPath);
        var pre = manifest.Preprocessing;
        // The eval transform a run uses for this entry (no augmentation), so the recorded top-1 is what users get.
        using var pipeline = ImagePipeline.Create(data.Images!, data.Info, pre, pre.InputSize, TorchRuntime.Device, new PipelineOptions(), ct);
        model.to(TorchRuntime.Device);
        model.eval();
        using var _ = no_grad();
        long correct = 0;
        var test = data.Split.Test;
        using var batches = pipeline.Eval(test, 256, ct);
        for (int b = 0; b < batches.Count; b++)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var batch = batches.Next();
            correct += model.call(batch.X).argmax(1).eq(batch.Y).sum().item<long>();
        }
        return test.Length == 0 ? 0 : (double)correct / test.Length;
    }

    /// <summary>A module of the manifest's shape with every key of the file in place (strict: nothing missing,
    /// nothing unexpected, no head reset).</summary>
    public static ZooModel LoadStrict(ArchitectureRegistry registry, ModelManifest manifest, string weightsPath)
    {
        ZooModel model;
        lock (TorchRuntime.ConstructionLock) model = registry.Create(manifest.Architecture, ArchitectureOptions.Of(manifest));
        var state = WeightsFile.Load(weightsPath);
        try { StateDictImporter.Import(model, state, ImportOptions.Strict); }
        catch { model.Dispose(); throw; }
        finally { TensorDtypes.DisposeAll(state.Values); }
        return model;
    }

    /// <summary>Rounds floating parameters and buffers to fp16 and back, so the module computes what the file will.</summary>
    static void RoundToHalf(ZooModel model)
    {
        using var _ = no_grad();
        foreach (var (_, t) in model.state_dict())
            if (t.is_floating_point()) t.copy_(t.to_type(ScalarType.Float16).to_type(t.dtype));
    }

    /// <summary>Mean and standard deviation of the training pixels in [0, 1], rounded to 4 decimals (grey images:
    /// one value for the three channels the batcher expands them to).</summary>
    static (double Mean, double Std) PixelStatistics(ImageSet images, int[] train)
    {
        double sum = 0, sq = 0; long n = 0;
        int per = images.ImageBytes;
        foreach (var i in train)
        {
            var span = images.Pixels.AsSpan(i * per, per);
            foreach (var b in span) { double v = b / 255.0; sum += v; sq += v * v; }
            n += per;
        }
        if (n == 0) return (0.5, 0.5);
        var mean = sum / n;
        var std = Math.Sqrt(Math.Max(1e-12, sq / n - mean * mean));
        return (Math.Round(mean, 4), Math.Round(Math.Max(std, 1e-4), 4));
    }

    internal static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
}
