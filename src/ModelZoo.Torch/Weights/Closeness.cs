using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights;

/// <summary>
/// How close two outputs are, judged as <c>torch.testing.assert_close</c> judges: every element must satisfy
/// |actual - expected| &lt;= atol + rtol * |expected|, and NaN never passes. Both tolerances and the worst absolute and
/// relative errors are kept, so a parity result can be reported in full rather than as a yes or no.
/// </summary>
/// <param name="MaxRelError">Largest |actual - expected| / |expected| over elements whose expected value is not 0.</param>
/// <param name="Mismatched">Elements outside the tolerance.</param>
public sealed record Closeness(double MaxAbsError, double MaxRelError, double Atol, double Rtol, long Mismatched, long Total)
{
    /// <summary>torch.testing.assert_close's defaults for float32.</summary>
    public const double Float32Rtol = 1.3e-6, Float32Atol = 1e-5;

    public bool Passed => Mismatched == 0 && !double.IsNaN(MaxAbsError);

    public override string ToString() =>
        $"max abs error {MaxAbsError:G3}, max rel error {MaxRelError:G3}, atol {Atol:G3}, rtol {Rtol:G3}: " +
        (Passed ? "close" : $"{Mismatched} of {Total} elements not close");

    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Closeness Measure(Tensor actual, Tensor expected, double atol, double rtol)
    {
        if (!actual.shape.SequenceEqual(expected.shape))
            throw new ArgumentException($"shapes differ: {TensorDtypes.Format(actual.shape)} and {TensorDtypes.Format(expected.shape)}");
        using var scope = NewDisposeScope();
        var a = actual.to(ScalarType.Float64, CPU);
        var e = expected.to(ScalarType.Float64, CPU);
        var diff = (a - e).abs();
        var scale = e.abs();
        long total = e.numel();
        if (total == 0) return new Closeness(0, 0, atol, rtol, 0, 0);
        // NaN compares false with everything, so a NaN element counts as not close.
        long mismatched = total - diff.le(scale * rtol + atol).sum().item<long>();
        double maxAbs = diff.isnan().any().item<bool>() ? double.NaN : diff.max().item<double>();
        var nonzero = scale.ne(0);
        double maxRel = nonzero.any().item<bool>() ? (diff.masked_select(nonzero) / scale.masked_select(nonzero)).max().item<double>() : 0;
        return new Closeness(maxAbs, maxRel, atol, rtol, mismatched, total);
    }
}
