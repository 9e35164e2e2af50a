using Microsoft.Extensions.Options;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Predict;
using ModelZoo.Torch.Training;
using SkiaSharp;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Runs.Predict;

/// <summary>
/// "Try it": a succeeded run's trained model on one uploaded image or pasted text. The input is brought into the run's
/// dataset's stored form (an image decoded as dataset uploads are, at the stored size and channels) and then through
/// the run's own evaluation batch source (<see cref="BatchSources.ForPrediction"/>): the resize, crop and
/// normalisation of its test split, or its tokenizer and length. The class names are the run's result's, which its
/// card and confusion matrix show. Image models also get a Grad-CAM map of the top class, drawn over the image.
/// Runs on the CPU, one prediction at a time: it never competes with training for the GPU's memory.
/// </summary>
public sealed class RunPredictor(RunService runs, RunOutputs outputs, ZooCatalog catalog, DatasetStore datasets, IStrategyCatalog strategies,
    ArchitectureRegistry registry, IOptions<PredictOptions> options, IOptions<ImageUploadOptions> uploads) : IDisposable
{
    readonly PredictOptions _options = options.Value;
    readonly SemaphoreSlim _gate = new(1, 1);
    readonly TrainedModelCache _cache = new(options.Value.CachedModels);

    public PredictOptions Options => _options;

    /// <summary>Models loaded now (tests check the bound).</summary>
    public int CachedModels => _cache.Count;

    /// <summary>The run's input modality, or why it cannot be tried at all (not found, not succeeded, no weights);
    /// the page asks this to choose between the image upload and the text box.</summary>
    public async Task<(RunView? Run, DatasetModality? Modality, PredictOutcome? Refusal)> CheckAsync(Guid runId, CancellationToken ct = default)
    {
        if (await runs.GetAsync(runId, ct) is not { } run)
            return (null, null, PredictOutcome.Refused(PredictFailure.RunNotFound, $"There is no run {runId}."));
        if (run.Status != RunStatus.Succeeded)
            return (run, null, PredictOutcome.Refused(PredictFailure.NotAvailable,
                $"Run {runId} is {run.Status.ToString().ToLowerInvariant()}: only a succeeded run's trained model can be tried."));
        if (strategies.Find(run.Strategy) is { Info.Trains: false } s)
            // Few-shot prototypes classify by distance to prototypes the weights file does not hold; its classifier is untrained.
            return (run, null, PredictOutcome.Refused(PredictFailure.NotAvailable,
                $"Run {runId} used {s.Info.Title}, which predicts from class prototypes its weights file does not hold, so its model cannot be tried here."));
        var weights = outputs.WeightsOf(run);
        if (weights.Path is null) return (run, null, PredictOutcome.Refused(PredictFailure.NotAvailable, weights.Problem!));
        if (catalog.ModalityOf(run.ModelId) is not { } modality)
            return (run, null, PredictOutcome.Refused(PredictFailure.NotAvailable,
                $"Run {runId} trained catalogue entry '{run.ModelId}', which this installation no longer has: its preprocessing is unknown."));
        return (run, modality, null);
    }

    /// <param name="image">The uploaded file's bytes (PNG, JPEG, GIF, BMP, WebP, ICO or WBMP).</param>
    /// <param name="top">How many classes to return, most probable first (at least 1; at most the run's classes).</param>
    public async Task<PredictOutcome> PredictImageAsync(Guid runId, byte[] image, int top = 5, CancellationToken ct = default)
    {
        var (run, modality, refusal) = await CheckAsync(runId, ct);
        if (refusal is not null) return refusal;
        if (modality != DatasetModality.Image)
            return PredictOutcome.Refused(PredictFailure.WrongModality, $"Run {runId} classifies texts; send a text, not an image.");
        if (top < 1) return PredictOutcome.Refused(PredictFailure.BadInput, $"top must be at least 1, not {top}.");
        if (image.LongLength > _options.MaxImageBytes)
            return PredictOutcome.Refused(PredictFailure.TooLarge, TooLargeMessage(image.LongLength));
        if (UploadedImageDecoder.HeaderSize(image) is var (w, h) && (long)w * h > _options.MaxPixels)
            return PredictOutcome.Refused(PredictFailure.TooLarge,
                $"The image is {w}x{h} = {(long)w * h / 1e6:0.#} megapixels, over the limit of {_options.MaxPixels / 1e6:0.#} ({PredictOptions.Section}:{nameof(PredictOptions.MaxPixels)}); it was not decoded.");
        if (datasets.Find(run!.DatasetId) is not { Modality: DatasetModality.Image } info)
            return PredictOutcome.Refused(PredictFailure.NotAvailable,
                $"Run {runId}'s dataset '{run.DatasetId}' is no longer stored, so the size and channels its images were stored at are unknown.");
        if (info.Width != info.Height || info.Channels is not (1 or 3))
            return PredictOutcome.Refused(PredictFailure.NotAvailable,
                $"Run {runId}'s dataset stores {info.Width}x{info.Height} images with {info.Channels} channels; only square grey or RGB images can be tried.");

        var fit = uploads.Value.Fit;
        var (decoded, problem) = UploadedImageDecoder.Decode(image, info.Width, fit, _options.MaxPixels);
        if (decoded is null) return PredictOutcome.Refused(PredictFailure.BadInput, $"The file {problem}.");
        var pixels = new byte[info.Channels * info.Width * info.Height];
        decoded.CopyPlanes(info.Channels, pixels);
        var data = new LoadedDataset(info, new ImageSet
        {
            Width = info.Width, Height = info.Height, Channels = info.Channels, Pixels = pixels, Labels = [0], ClassNames = info.ClassNames,
        }, new SplitIndices(0, [], [], [0]));

        return await PredictAsync(run, modality.Value, data, top, (prediction, source, result) =>
        {
            var map = prediction.Map!;
            var spec = ((ImagePipeline)source).Spec;
            var (overlay, seen) = Overlay(image, info, fit, spec, map);
            return result with
            {
                GradCam = new GradCamView(map.Stage, map.Module, map.TargetClass, ClassNameOf(run, map.TargetClass), map.Height, map.Width, map.Values,
                    DataUrl(overlay)),
                InputPng = DataUrl(seen),
                Preprocessing = $"Decoded as {decoded.Format} ({decoded.Width}x{decoded.Height}), " +
                    $"{(fit == UploadFit.CenterCrop ? "centre-cropped" : "stretched")} to the dataset's stored {info.Width}x{info.Height} " +
                    $"{(info.Channels == 1 ? "grey" : "RGB")}, then the run's evaluation transform: resize to {spec.ResizeSize}, " +
                    $"{spec.Interpolation.ToString().ToLowerInvariant()}, centre crop {spec.InputSize}, normalise.",
            };
        }, ct);
    }

    public async Task<PredictOutcome> PredictTextAsync(Guid runId, string? text, int top = 5, CancellationToken ct = default)
    {
        var (run, modality, refusal) = await CheckAsync(runId, ct);
        if (refusal is not null) return refusal;
        if (modality != DatasetModality.Text)
            return PredictOutcome.Refused(PredictFailure.WrongModality, $"Run {runId} classifies images; upload an image, not a text.");
        if (top < 1) return PredictOutcome.Refused(PredictFailure.BadInput, $"top must be at least 1, not {top}.");
        if (string.IsNullOrWhiteSpace(text)) return PredictOutcome.Refused(PredictFailure.BadInput, "The text is empty.");
        if (text.Length > _options.MaxTextChars)
            return PredictOutcome.Refused(PredictFailure.TooLarge,
                $"The text has {text.Length:N0} characters, over the limit of {_options.MaxTextChars:N0} ({PredictOptions.Section}:{nameof(PredictOptions.MaxTextChars)}).");
        var info = datasets.Find(run!.DatasetId) ?? new DatasetInfo { Id = run.DatasetId, Modality = DatasetModality.Text, ClassNames = run.Result?.ClassNames ?? [] };
        var data = new LoadedDataset(info, null, new SplitIndices(0, [], [], [0]))
        {
            Texts = new TextSet { Texts = [text], Labels = [0], ClassNames = info.ClassNames },
        };
        return await PredictAsync(run, modality.Value, data, top, (_, source, result) => result with
        {
            Preprocessing = $"Tokenised with the model's vocabulary, at most {((TextBatcher)source).MaxLength} tokens, as the run's test split was.",
        }, ct);
    }

    /// <param name="bytes">The upload's size; null when it was refused while still arriving.</param>
    public string TooLargeMessage(long? bytes) =>
        $"The upload is {(bytes is { } b ? $"{b:N0} bytes, " : "")}over the limit of {_options.MaxImageBytes:N0} ({_options.MaxImageBytes / (1024.0 * 1024):0.#} MB, " +
        $"{PredictOptions.Section}:{nameof(PredictOptions.MaxImageBytes)}).";

    async Task<PredictOutcome> PredictAsync(RunView run, DatasetModality modality, LoadedDataset data, int top,
        Func<ModelPrediction, IBatchSource, RunPrediction, RunPrediction> complete, CancellationToken ct)
    {
        var (outcome, refusal) = await WithModelAsync(run, modality, data, (trained, source) =>
        {
            var prediction = Predictor.Predict(trained, source, explain: true, ct);
            var classes = run.Result?.ClassNames ?? [];
            if (classes.Count != prediction.Probabilities.Length)
                return PredictOutcome.Refused(PredictFailure.NotAvailable,
                    $"Run {run.Id}'s model has {prediction.Probabilities.Length} outputs but its result names {classes.Count} classes.");
            var ranked = prediction.Probabilities.Select((p, i) => new PredictedClass(i, classes[i], p))
                .OrderByDescending(c => c.Probability).ThenBy(c => c.Index).Take(Math.Min(top, classes.Count)).ToList();
            var result = new RunPrediction
            {
                RunId = run.Id, ModelId = run.ModelId, Architecture = trained.Architecture.Name, DatasetId = run.DatasetId,
                Modality = modality == DatasetModality.Image ? "image" : "text", Classes = classes.Count, Top = ranked,
            };
            return new PredictOutcome(complete(prediction, source, result), null, null);
        }, ct);
        return refusal ?? outcome!;
    }

    /// <summary>
    /// Runs <paramref name="use"/> with the run's trained model (from the cache) and the run's own evaluation batch
    /// source over <paramref name="data"/> (<see cref="BatchSources.ForPrediction"/>, built from the job the worker would
    /// build), on the CPU, under the gate: "Try it" and the mistakes gallery share the loading and the preprocessing.
    /// </summary>
    internal Task<(T? Result, PredictOutcome? Refusal)> WithModelAsync<T>(RunView run, DatasetModality modality, LoadedDataset data,
        Func<TrainedModel, IBatchSource, T> use, CancellationToken ct) =>
        WithModelAsync(run, modality, data, (_, trained, source) => use(trained, source), null, ct);

    /// <param name="load">Loads a model of its own from the run's weights file and the entry's head shape (a
    /// compressed copy, a model to prune); it is disposed after <paramref name="use"/>. Null: the cached trained model.</param>
    /// <param name="use">Also gets the job, so a caller can build the run's training batch source as the worker would.</param>
    internal async Task<(T? Result, PredictOutcome? Refusal)> WithModelAsync<T>(RunView run, DatasetModality modality, LoadedDataset data,
        Func<TrainingJob, TrainedModel, IBatchSource, T> use, Func<string, ArchitectureOptions, TrainedModel>? load, CancellationToken ct)
    {
        if (catalog.ManifestOf(run.ModelId) is not { } manifest)
            return (default, PredictOutcome.Refused(PredictFailure.NotAvailable,
                $"Run {run.Id} trained catalogue entry '{run.ModelId}', which this installation no longer has: its preprocessing is unknown."));
        var weights = outputs.WeightsOf(run);
        if (weights.Path is not { } path) return (default, PredictOutcome.Refused(PredictFailure.NotAvailable, weights.Problem!));
        var text = catalog.TextFilesOf(manifest);
        if (modality == DatasetModality.Text && text.Files is null)
            return (default, PredictOutcome.Refused(PredictFailure.NotAvailable, text.MissingMessage(run.ModelId)));
        // The job the worker would build for this run (its request, entry, text files and mean image), over the input.
        var job = new TrainingJob(run.Id, run.Request, manifest, data, null, outputs.DirOf(run.Id))
        {
            Text = text.Files,
            MeanImagePath = catalog.MeanImagePathOf(manifest),
        };

        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await Task.Run(() =>
            {
                TrainedModel trained;
                try
                {
                    trained = load is not null ? load(path, catalog.OptionsOf(manifest))
                        : _cache.GetOrLoad($"{run.Id:N}:{weights.Weights!.Sha256}", () => TrainedModel.Load(path, catalog.OptionsOf(manifest), registry));
                }
                catch (TrainedWeightsException e)
                {
                    return (default(T), PredictOutcome.Refused(PredictFailure.NotAvailable, $"Run {run.Id}'s weights cannot be loaded: {e.Message}"));
                }
                try
                {
                    using var source = BatchSources.ForPrediction(job, data, trained.Architecture.Modality, trained.Model, CPU);
                    return (use(job, trained, source), (PredictOutcome?)null);
                }
                finally { if (load is not null) trained.Dispose(); }
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    static string ClassNameOf(RunView run, int index) => run.Result?.ClassNames is { } names && index < names.Count ? names[index] : index.ToString();

    /// <summary>The region the model saw: the stored square, resized to the spec's resize size and centre-cropped to
    /// its input size; drawn from a decode of the upload at the overlay's resolution so it is sharp.</summary>
    (byte[] Overlay, byte[] Seen) Overlay(byte[] image, DatasetInfo info, UploadFit fit, ImageTransformSpec spec, GradCamMap map)
    {
        int size = _options.OverlaySize;
        var (rh, rw) = spec.ResizedShape(info.Height, info.Width);
        var (top, left) = ImageTransformSpec.CenterCropOffset(rh, rw, spec.InputSize);
        // Decode at a resolution where the crop is about the overlay's side.
        int n = (int)Math.Clamp(Math.Round(size * (double)rw / spec.InputSize), size, 2048);
        var (display, _) = UploadedImageDecoder.Decode(image, n, fit, _options.MaxPixels);
        var rgb = new byte[3 * n * n];
        if (info.Channels == 1)
        {
            // The model saw grey: so does the overlay.
            var grey = new byte[n * n];
            display!.CopyPlanes(1, grey);
            for (int c = 0; c < 3; c++) grey.CopyTo(rgb, c * n * n);
        }
        else display!.Rgb.CopyTo(rgb, 0);
        double sx = n / (double)rw, sy = n / (double)rh;
        var crop = SKRect.Create((float)(left * sx), (float)(top * sy), (float)(spec.InputSize * sx), (float)(spec.InputSize * sy));
        return (GradCamOverlay.RenderPng(rgb, n, crop, GradCam.Upsample(map, size, size), size), GradCamOverlay.RenderPng(rgb, n, crop, null, size));
    }

    static string DataUrl(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    public void Dispose()
    {
        _gate.Wait();
        _cache.Dispose();
        _gate.Dispose();
    }
}
