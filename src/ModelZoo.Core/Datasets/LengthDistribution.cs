namespace ModelZoo.Core.Datasets;

/// <summary>One bar of a length histogram: lengths in [From, To) and how many texts have them. A
/// <see cref="Tail"/> bin gathers the long tail past the 99th percentile, from <see cref="From"/> to the maximum.</summary>
public sealed record LengthBin(int From, int To, int Count, bool Tail = false);

/// <summary>
/// The distribution of text lengths (characters, words or tokens): quantiles and a histogram whose bins are
/// "nice" widths (1, 2, 5 x 10^k) chosen so about <c>targetBins</c> bars cover min..max, or min..P99 plus one tail
/// bin when the maximum is over twice the 99th percentile (e-mails of 160,000 characters would otherwise squeeze
/// every other text into the first bar); <see cref="Over"/> counts
/// texts longer than a limit such as a model's maximum sequence length (truncated there).
/// </summary>
public sealed record LengthDistribution(int Count, int Min, int Median, int P90, int P99, int Max, double Mean,
    IReadOnlyList<LengthBin> Bins, int? Limit, int Over)
{
    public static LengthDistribution Of(IReadOnlyCollection<int> lengths, int targetBins = 20, int? limit = null)
    {
        if (lengths.Count == 0) return new(0, 0, 0, 0, 0, 0, 0, [], limit, 0);
        var sorted = lengths.Order().ToArray();
        int Q(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * sorted.Length))];
        int min = sorted[0], max = sorted[^1], p99 = Q(0.99);
        int upper = max > 2L * p99 ? p99 : max;
        int width = NiceWidth(Math.Max(1, upper - min + 1) / (double)Math.Max(1, targetBins));
        int start = min / width * width;
        int nBins = (upper - start) / width + 1;
        int tailFrom = start + nBins * width;
        var counts = new int[nBins];
        int tail = 0;
        foreach (var l in sorted)
            if (l >= tailFrom) tail++;
            else counts[(l - start) / width]++;
        var bins = counts.Select((c, i) => new LengthBin(start + i * width, start + (i + 1) * width, c)).ToList();
        if (tail > 0) bins.Add(new LengthBin(tailFrom, max + 1, tail, Tail: true));
        return new(sorted.Length, min, Q(0.5), Q(0.9), p99, max, sorted.Average(x => (double)x), bins,
            limit, limit is { } lim ? sorted.Count(l => l > lim) : 0);
    }

    static int NiceWidth(double raw)
    {
        if (raw <= 1) return 1;
        double p = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        foreach (var m in new[] { 1, 2, 5, 10 })
            if (m * p >= raw) return (int)(m * p);
        return (int)(10 * p);
    }

    /// <summary>Words as whitespace-separated runs, the way a reader would count them.</summary>
    public static int Words(string text)
    {
        int n = 0;
        bool inWord = false;
        foreach (var c in text)
        {
            bool space = char.IsWhiteSpace(c);
            if (!space && !inWord) n++;
            inWord = !space;
        }
        return n;
    }
}
