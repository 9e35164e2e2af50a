using ModelZoo.Torch.Weights.Onnx;
using Onnx;

namespace ModelZoo.Torch.Tests.Weights.Onnx;

/// <summary>One sentence-encoder package: its DLL, and the model and vocabulary it embeds, read once per test class.</summary>
public sealed class SentenceEncoderPackage
{
    public SentenceEncoderPackage(string assembly)
    {
        Assembly = assembly;
        ModelResource = EmbeddedResources.Find(assembly, ".Resources.model.onnx");
        VocabResource = EmbeddedResources.Find(assembly, ".Resources.vocab.txt");
        ModelBytes = EmbeddedResources.ReadAllBytes(assembly, ModelResource);
        Proto = ModelProto.Parser.ParseFrom(ModelBytes);
        Vocabulary = System.Text.Encoding.UTF8.GetString(EmbeddedResources.ReadAllBytes(assembly, VocabResource))
            .Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
    }

    public string Assembly { get; }
    public EmbeddedResource ModelResource { get; }
    public EmbeddedResource VocabResource { get; }
    public byte[] ModelBytes { get; }
    public ModelProto Proto { get; }
    public List<string> Vocabulary { get; }
    /// <summary>How messages name the model: the DLL and the resource.</summary>
    public string Name => Path.GetFileName(EmbeddedResources.Describe(Assembly, ModelResource));

    public OnnxModel Read(ModelProto? proto = null) => OnnxModel.FromProto(proto ?? Proto, Name);
}

/// <summary>Both packages, for test classes that read them (about 180 MB of models, parsed once).</summary>
public sealed class SentenceEncoderFiles
{
    public SentenceEncoderPackage MiniLm { get; } = new(OnnxTestFiles.MiniLmAssembly);
    public SentenceEncoderPackage ArcticXs { get; } = new(OnnxTestFiles.ArcticXsAssembly);

    public SentenceEncoderPackage this[string architecture] => architecture switch
    {
        "minilm_l6" => MiniLm,
        "arctic_embed_xs" => ArcticXs,
        _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, "no package for it"),
    };
}
