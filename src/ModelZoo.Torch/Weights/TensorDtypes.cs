using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights;

/// <summary>
/// The zoo's in-memory form of a loaded state dict, the same for every reader: floating tensors become Float32,
/// integer tensors Int64, bool stays Bool, all contiguous on the CPU. Import and parity code then sees one shape of
/// data whatever the file held; <c>copy_</c> converts to the model's own dtype and device when importing.
/// </summary>
internal static class TensorDtypes
{
    public static int ItemSize(ScalarType t) => t switch
    {
        ScalarType.Bool or ScalarType.Byte or ScalarType.Int8 => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => throw new NotSupportedException($"dtype {t} is not supported for weights"),
    };

    public static bool IsFloating(ScalarType t) =>
        t is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    public static bool IsInteger(ScalarType t) =>
        t is ScalarType.Byte or ScalarType.Int8 or ScalarType.Int16 or ScalarType.Int32 or ScalarType.Int64;

    public static ScalarType Canonical(ScalarType t) =>
        IsFloating(t) ? ScalarType.Float32 : IsInteger(t) ? ScalarType.Int64 : t;

    /// <summary>Converts <paramref name="raw"/> to the canonical dtype, disposing it when a new tensor was made.</summary>
    public static Tensor ToCanonical(Tensor raw)
    {
        var target = Canonical(raw.dtype);
        if (raw.dtype == target) return raw;
        var converted = raw.to_type(target);
        raw.Dispose();
        return converted;
    }

    /// <summary>Checked element count of a shape; null when it overflows or a dimension is negative.</summary>
    public static long? NumelOf(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) return null;
            try { n = checked(n * d); } catch (OverflowException) { return null; }
        }
        return n;
    }

    public static string Format(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    public static void DisposeAll(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors) t.Dispose();
    }
}
