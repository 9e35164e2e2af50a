using System.Globalization;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Web.Datasets;

/// <summary>How dataset facts read on every page.</summary>
public static class DatasetFormat
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Shape(DatasetInfo d) =>
        d.Modality == DatasetModality.Text ? "texts" : $"{d.Width}x{d.Height} {(d.Channels == 1 ? "grey" : "RGB")}";

    public static string Splits(SplitSizes s) =>
        $"{s.Train.ToString("N0", Inv)} / {s.Validation.ToString("N0", Inv)} / {s.Test.ToString("N0", Inv)}";

    public static string Bytes(long n) =>
        n >= 1 << 20 ? (n / (double)(1 << 20)).ToString("0.#", Inv) + " MB" : (n / 1024.0).ToString("0.#", Inv) + " KB";
}
