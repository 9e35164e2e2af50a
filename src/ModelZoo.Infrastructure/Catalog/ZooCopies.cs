using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelZoo.Infrastructure.Catalog;

/// <summary>A zoo of many entries made from a real one, for measuring and testing the catalogue at team scale
/// (<c>modelzoo bench catalog</c>, the catalogue page's paging tests): every entry is a real manifest under a new tag.</summary>
public static class ZooCopies
{
    /// <summary>The source entries, then copies under tags <c>&lt;tag&gt;_c01</c>, <c>_c02</c>, ... until there are
    /// <paramref name="count"/>. Files over 1 MB (weights) are linked, not copied.</summary>
    public static int Generate(string source, string target, int count)
    {
        var entries = Directory.GetDirectories(source).Order(StringComparer.Ordinal).ToList();
        if (entries.Count == 0) throw new InvalidOperationException($"{source} has no entries.");
        Directory.CreateDirectory(target);
        var made = 0;
        for (var copy = 0; made < count; copy++)
            foreach (var dir in entries)
            {
                if (made == count) break;
                var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "model.json")))!.AsObject();
                var architecture = (string)manifest["architecture"]!;
                var tag = (string)manifest["tag"]! + (copy == 0 ? "" : $"_c{copy:D2}");
                var id = $"{architecture}.{tag}";
                manifest["tag"] = tag;
                manifest["id"] = id;
                var into = Directory.CreateDirectory(Path.Combine(target, id)).FullName;
                foreach (var file in Directory.GetFiles(dir))
                {
                    var name = Path.GetFileName(file);
                    if (name == "model.json") continue;
                    if (new FileInfo(file).Length > 1 << 20) File.CreateSymbolicLink(Path.Combine(into, name), Path.GetFullPath(file));
                    else File.Copy(file, Path.Combine(into, name));
                }
                File.WriteAllText(Path.Combine(into, "model.json"), manifest.ToJsonString(Indented));
                made++;
            }
        return made;
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
