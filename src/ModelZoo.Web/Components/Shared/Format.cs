using System.Globalization;

namespace ModelZoo.Web.Components.Shared;

/// <summary>Number formats shared by pages, so the same quantity always reads the same way.</summary>
public static class Format
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Params(long n) => n >= 1_000_000 ? (n / 1e6).ToString("0.00", Inv) + " M" : n.ToString("N0", Inv);
    public static string Pct(double v) => (v * 100).ToString("0.00", Inv) + " %";
    public static string Num(double v, int digits = 4) => double.IsFinite(v) ? v.ToString("F" + digits, Inv) : v.ToString(Inv);

    /// <summary>File sizes in binary units (KiB, MiB, GiB), as file managers and <c>ls -h</c> show them.</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.##", Inv) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.#", Inv) + " MiB",
        >= 1L << 10 => (bytes / 1024.0).ToString("0", Inv) + " KiB",
        _ => $"{bytes} bytes",
    };

    public static string Duration(double? seconds)
    {
        if (seconds is not { } s || !double.IsFinite(s)) return "–";
        var t = TimeSpan.FromSeconds(Math.Max(0, s));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m {t.Seconds:00}s" : $"{t.Seconds}s";
    }
}
