using ModelZoo.Torch.Models;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights;

public enum ParityOutput { Logits, Features }

/// <summary>
/// One parity run: an architecture from the registry, a weights file, and an io file: safetensors holding
/// <c>input</c> and the reference implementation's <c>output</c>, or for text models the JSON of
/// <see cref="TextParityIo"/> (token ids, mask, token types, logits, first-token hidden state).
/// </summary>
/// <param name="NumClasses">Classifier size; null takes it from the checkpoint's classifier weight.</param>
/// <param name="ConfigJson">For config-driven architectures (BERT): the config.json text.</param>
public sealed record ParityRequest(
    string Architecture,
    string WeightsPath,
    string IoPath,
    int? NumClasses = null,
    ParityOutput Output = ParityOutput.Logits,
    double Atol = ParityCheck.DefaultAtol,
    double Rtol = ParityCheck.DefaultRtol,
    string? ConfigJson = null);

/// <param name="Closeness">Every element judged as torch.testing.assert_close judges, with both worst errors.</param>
public sealed record ParityResult(Closeness Closeness, long[] Shape, string WeightsSha256, IReadOnlyList<string> ImportMessages)
{
    public double MaxAbsDiff => Closeness.MaxAbsError;
    /// <summary>NaN never passes.</summary>
    public bool Passed => Closeness.Passed;
}

/// <summary>
/// Proves that an architecture with imported weights reproduces the reference implementation: loads the weights
/// strictly (no head reset; a features run tolerates absent keys, since the output would expose anything used),
/// runs <c>input</c> in eval mode under no_grad and judges every element against <c>output</c> as
/// <c>torch.testing.assert_close</c> does: |actual - expected| &lt;= atol + rtol * |expected|.
/// The CLI's <c>weights parity</c> and the fixture tests both call this.
/// </summary>
public static class ParityCheck
{
    /// <summary>
    /// An absolute bound alone judges large outputs unfairly: float32 keeps about 7 significant digits, so a correct
    /// ResNet-50 whose logits reach 80 can differ from PyTorch's float32 output by more than 1e-4 through rounding
    /// alone (PyTorch's own float32 result is about 1e-4 from its float64 one there). The relative part lets an
    /// element of size |x| differ by 1e-5·|x| more: 9e-4 at 80, while outputs near 1 keep a bound near 1e-4, so a
    /// real 1e-3 error there still fails (ParityTests).
    /// </summary>
    public const double DefaultAtol = 1e-4, DefaultRtol = 1e-5;

    /// <exception cref="WeightsFormatException">A file is corrupt or the io file lacks input/output.</exception>
    /// <exception cref="WeightsImportException">The weights do not fit the architecture.</exception>
    /// <exception cref="KeyNotFoundException">Unknown architecture.</exception>
    public static ParityResult Run(ParityRequest request, ArchitectureRegistry? registry = null)
    {
        registry ??= ArchitectureRegistry.Default;
        var info = registry.Get(request.Architecture);
        var io = TextParityIo.Handles(request.IoPath) ? TextParityIo.Load(request.IoPath) : SafeTensors.Load(request.IoPath);
        Dictionary<string, Tensor>? weights = null;
        try
        {
            if (!io.TryGetValue("input", out var input) || !io.TryGetValue("output", out var expected))
                throw new WeightsFormatException(request.IoPath, $"needs tensors 'input' and 'output'; it has {string.Join(", ", io.Keys)}");
            weights = WeightsFile.Load(request.WeightsPath);
            using var model = Create(info, request, weights);
            var options = new ImportOptions(ResetHeadOnMismatch: false, AllowMissing: request.Output == ParityOutput.Features, FreshIfAbsent: false);
            var report = StateDictImporter.Import(model, weights, options);
            model.eval();

            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var actual = request.Output == ParityOutput.Features ? model.ForwardFeatures(input) : model.call(input);
            // A text io file holds features at [CLS] only: compare the final hidden state at position 0.
            if (request.Output == ParityOutput.Features && io.TryGetValue(TextParityIo.FirstTokenFeatures, out var firstToken))
            {
                expected = firstToken;
                actual = actual.select(1, 0);
            }
            if (!actual.shape.SequenceEqual(expected.shape))
                throw new WeightsFormatException(request.IoPath,
                    $"expected output has shape {TensorDtypes.Format(expected.shape)} but {request.Architecture} produced {TensorDtypes.Format(actual.shape)}" +
                    (request.Output == ParityOutput.Logits ? " (check --num-classes, or use --output features)" : ""));
            var closeness = Closeness.Measure(actual, expected, request.Atol, request.Rtol);
            return new ParityResult(closeness, actual.shape, Sha256.OfFile(request.WeightsPath), report.Messages);
        }
        finally
        {
            TensorDtypes.DisposeAll(io.Values);
            if (weights is not null) TensorDtypes.DisposeAll(weights.Values);
        }
    }

    /// <summary>Builds the model with the classifier size asked for, or the checkpoint's own when none is.</summary>
    static ZooModel Create(ArchitectureInfo info, ParityRequest request, IReadOnlyDictionary<string, Tensor> weights)
    {
        if (request.NumClasses is { } n) return info.Create(new ArchitectureOptions(n, request.ConfigJson));
        var model = info.Create(new ArchitectureOptions(ConfigJson: request.ConfigJson));
        if (weights.TryGetValue(model.ClassifierPrefix + ".weight", out var w) && w.shape.Length > 0 && w.shape[0] != model.NumClasses)
        {
            model.Dispose();
            model = info.Create(new ArchitectureOptions((int)w.shape[0], request.ConfigJson));
        }
        return model;
    }
}
