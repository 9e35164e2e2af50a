using System.Text.Json;
using ModelZoo.Core.Catalog;

namespace ModelZoo.Infrastructure.Tests.Weights;

/// <summary>
/// A catalogue folder made by a test: entries whose weights section points at the parity fixtures, with hashes the
/// test computes, so imports can be proven accepted and refused without any real checkpoint.
/// </summary>
public sealed class TestZoo : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("mz-zoo-").FullName;

    /// <summary>Adds <c>&lt;architecture&gt;.&lt;tag&gt;</c> and returns its id.</summary>
    public string Add(string tag, WeightsInfo? weights, string architecture = "resnet18", int numClasses = 1000)
    {
        var id = $"{architecture}.{tag}";
        var manifest = new ModelManifest
        {
            Id = id, Architecture = architecture, Tag = tag, Family = "resnet", Task = "image-classification",
            Title = $"Test {id}", Summary = "Made by a test.", Provenance = "made by a test",
            Head = new HeadInfo { Classifier = "fc", NumClasses = numClasses }, Weights = weights,
        };
        var dir = Directory.CreateDirectory(Path.Combine(Dir, id)).FullName;
        File.WriteAllText(Path.Combine(dir, "model.json"), JsonSerializer.Serialize(manifest, ModelManifest.Json));
        File.WriteAllText(Path.Combine(dir, "README.md"), $"# {id}\n\nA test entry.\n");
        return id;
    }

    /// <summary>
    /// Adds <c>resnet18.&lt;tag&gt;</c> with <paramref name="source"/> copied into its folder as bundled house weights
    /// (sha256 and size from the file unless given), and returns the id and the copy's path.
    /// </summary>
    public (string Id, string File) AddBundled(string source, string tag = "house", string? sha256 = null, long? size = null)
    {
        var id = Add(tag, new WeightsInfo
        {
            File = "model.safetensors", Format = "safetensors", Bundled = true,
            Sha256 = sha256 ?? ModelZoo.Torch.Weights.Sha256.OfFile(source), Size = size ?? new FileInfo(source).Length,
        });
        var file = Path.Combine(Dir, id, "model.safetensors");
        File.Copy(source, file);
        return (id, file);
    }

    /// <summary>Copies the repository's own entry <paramref name="id"/> (manifest, card and the files beside them) into this zoo.</summary>
    public string CopyEntry(string id, string repoRoot)
    {
        var target = Directory.CreateDirectory(Path.Combine(Dir, id)).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(repoRoot, "zoo", id))) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return id;
    }

    /// <summary>Adds an entry whose weights are an ONNX file with the given hash.</summary>
    public string AddOnnx(string tag, string sha256, string architecture = "resnet18_cntk") =>
        Add(tag, new WeightsInfo { File = "model.onnx", Format = "onnx", Sha256 = sha256 }, architecture);

    public static WeightsInfo SafeTensors(string file, string? sha256 = null, string? prefix = null) =>
        new() { File = file, Format = "safetensors", Sha256 = sha256, Sha256Prefix = prefix };

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
