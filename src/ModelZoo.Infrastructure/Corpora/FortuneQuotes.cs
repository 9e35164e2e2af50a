using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Infrastructure.Corpora;

/// <summary>
/// Quotes from Debian's <c>fortunes</c> and <c>fortunes-min</c> (fetched with apt-get download): every file in
/// <c>usr/share/games/fortunes/</c> except the <c>.dat</c> indexes, links, and <c>ascii-art</c> (drawings, not
/// language). Quotes are separated by lines holding only <c>%</c>; one quote is one document, id <c>file:n</c>.
/// </summary>
public static class FortuneQuotes
{
    public static readonly IReadOnlyList<string> Packages = ["fortunes", "fortunes-min"];
    const string Dir = "usr/share/games/fortunes/";
    static readonly HashSet<string> Skipped = new(StringComparer.Ordinal) { "ascii-art" };

    public static async Task<TextCorpus> FetchAsync(DebianPackageFetcher debian, string package, CancellationToken ct)
    {
        var deb = await debian.FetchAsync(package, null, ct);
        var copyrightPath = $"usr/share/doc/{package}/copyright";
        var files = await DebArchive.ReadFilesAsync(deb.DebPath, n => n == copyrightPath || IsQuoteFile(n), ct);
        var docs = new List<CorpusDocument>();
        foreach (var (path, bytes) in files.Where(f => f.Key != copyrightPath).OrderBy(f => f.Key, StringComparer.Ordinal))
            docs.AddRange(Parse(WordNetGlosses.Decode(bytes, $"{deb.FileName}:{path}"), package, Path.GetFileName(path)));
        if (docs.Count == 0) throw new DatasetFetchException($"{deb.FileName} holds no quotes under /{Dir}.");
        if (!files.TryGetValue(copyrightPath, out var copyright)) throw new DatasetFetchException($"{deb.FileName}: {copyrightPath} is missing.");
        var text = WordNetGlosses.Decode(copyright, copyrightPath);
        // This copyright file is not machine-readable; its "Legal information" section puts the program under BSD.
        if (!text.Contains("This program falls under the BSD copyright", StringComparison.Ordinal))
            throw new DatasetFetchException($"{deb.FileName}: {copyrightPath} no longer states the BSD licence this corpus was vetted under.");
        var source = new CorpusSource($"Debian {package} quotes", "debian", package, deb.Version, deb.FileName, deb.Sha256,
            "BSD-3-Clause (as the package states it for fortune-mod; the quotes are third-party quotations with no separate licence)",
            $"{copyrightPath} in {deb.FileName} (\"This program falls under the BSD copyright\", the Regents of the University of California, with clause 3 deleted)",
            "quotes of every category file except ascii-art", 0, 0);
        return TextCorpus.Of(source, docs);
    }

    static bool IsQuoteFile(string path) =>
        path.StartsWith(Dir, StringComparison.Ordinal) && !path[Dir.Length..].Contains('/')
        && !path.EndsWith(".dat", StringComparison.Ordinal) && !path.EndsWith(".u8", StringComparison.Ordinal)
        && !Skipped.Contains(path[Dir.Length..]);

    public static IEnumerable<CorpusDocument> Parse(string text, string package, string file)
    {
        int n = 0;
        var quote = new List<string>();
        foreach (var line in text.Replace("\r\n", "\n").Split('\n').Append("%"))
        {
            if (line.TrimEnd() != "%") { quote.Add(line); continue; }
            var q = string.Join('\n', quote).Trim();
            quote.Clear();
            if (q.Length > 0) yield return new CorpusDocument(package, $"{file}:{n++}", q);
        }
    }
}
