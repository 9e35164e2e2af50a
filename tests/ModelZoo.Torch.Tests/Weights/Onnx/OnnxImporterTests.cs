using Google.Protobuf;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;
using Onnx;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights.Onnx;

/// <summary>The real file, parsed once for the class: each test changes a clone of it.</summary>
public sealed class MlNetResNet18File
{
    public ModelProto Proto { get; } = ModelProto.Parser.ParseFrom(File.ReadAllBytes(OnnxTestFiles.MlNetResNet18));
}

/// <summary>
/// The ONNX importer on ML.NET's ResNet-18: the graph's structure decides every key, each node is checked against
/// resnet18_cntk, and anything it does not understand is refused with the node named, before anything is copied.
/// </summary>
public sealed class OnnxImporterTests : IClassFixture<MlNetResNet18File>, IDisposable
{
    readonly MlNetResNet18File _file;
    readonly TempFolder _tmp = new();

    public OnnxImporterTests(MlNetResNet18File file) => _file = file;
    public void Dispose() => _tmp.Dispose();

    static ZooModel Create(string arch = "resnet18_cntk", int classes = 1000) =>
        ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions(classes));

    ModelProto Clone() => _file.Proto.Clone();

    static NodeProto Node(ModelProto proto, string name) => proto.Graph.Node.Single(n => n.Name == name);

    static void SetInts(NodeProto node, string attribute, params long[] values)
    {
        var a = node.Attribute.Single(x => x.Name == attribute);
        a.Ints.Clear();
        a.Ints.Add(values);
    }

    static OnnxMapping Walk(ModelProto proto, string arch = "resnet18_cntk")
    {
        using var model = Create(arch);
        return OnnxResNetWalker.Map(OnnxModel.FromProto(proto, "ResNet18.onnx"), model);
    }

    [Fact]
    public void Read_TheMlNetFile_StatesItsProducerOpsetAndInput()
    {
        var onnx = OnnxModel.Read(OnnxTestFiles.MlNetResNet18);
        onnx.Producer.ShouldBe("CNTK 2.6");
        onnx.Opset.ShouldBe(8);
        onnx.Initializers.Count.ShouldBe(110);
        onnx.Inputs.Single().Name.ShouldBe("Input247");
        using var w = onnx.LoadInitializer("Parameter91");
        w.shape.ShouldBe([64L, 3L, 7L, 7L]);
        w.dtype.ShouldBe(ScalarType.Float32);
        w.device_type.ShouldBe(TorchSharp.DeviceType.CPU);
    }

    /// <summary>The keys follow from the graph: which Conv feeds which BatchNorm and Add, not the order or names
    /// of nodes and initialisers (CNTK numbers them, and the shortcut's nodes come before the main path's).</summary>
    [Fact]
    public void Walk_MapsEveryInitialiser_ByWhereItSitsInTheGraph()
    {
        var mapping = Walk(Clone());
        mapping.Mapped.Count.ShouldBe(110);
        mapping.UnusedInitializers.ShouldBeEmpty();
        mapping.InputShape.ShouldBe([1L, 3L, 224L, 224L]);
        var byKey = mapping.Mapped.ToDictionary(m => m.Key);
        byKey["conv1.weight"].ShouldBe(new OnnxMappedTensor("conv1.weight", "Parameter91", "Convolution249"));
        byKey["bn1.running_mean"].Initializer.ShouldBe("Constant98");
        byKey["bn1.running_var"].Initializer.ShouldBe("Constant99");
        byKey["layer1.0.conv2.weight"].Node.ShouldBe("Convolution263");
        byKey["layer2.0.conv1.weight"].Node.ShouldBe("Convolution285");
        byKey["layer2.0.downsample.0.weight"].ShouldBe(new OnnxMappedTensor("layer2.0.downsample.0.weight", "Parameter199", "Convolution295"));
        byKey["layer2.0.downsample.1.bias"].ShouldBe(new OnnxMappedTensor("layer2.0.downsample.1.bias", "Parameter204", "BatchNormalization297"));
        byKey["layer4.2.conv2.weight"].ShouldBe(new OnnxMappedTensor("layer4.2.conv2.weight", "Parameter10", "Convolution387"));
        byKey["layer4.2.bn2.weight"].Initializer.ShouldBe("Parameter417");
    }

    [Fact]
    public void Import_CopiesThe110Tensors_ResetsTheAbsentHead_AndReportsWhatTheFileLacks()
    {
        using var model = Create(classes: 10);
        var result = OnnxImporter.Import(OnnxTestFiles.MlNetResNet18, model);

        result.Report.TensorsCopied.ShouldBe(110);
        result.Report.HeadReinitialised.ShouldBeTrue();
        result.Report.NotInCheckpoint.Count.ShouldBe(22);
        result.Report.NotInCheckpoint.ShouldAllBe(k => k.EndsWith(".num_batches_tracked"));
        result.Report.Messages[0].ShouldBe("imported 110 of 134 tensors into resnet18_cntk");
        result.Report.Messages.ShouldContain("The checkpoint has no classifier ('fc'), so the head was initialised fresh for the model's 10 classes.");
        result.UnusedInitializers.ShouldBeEmpty();
        model.NumClasses.ShouldBe(10);

        var onnx = OnnxModel.Read(OnnxTestFiles.MlNetResNet18);
        var state = model.state_dict();
        foreach (var m in result.Mapped)
        {
            using var expected = onnx.LoadInitializer(m.Initializer);
            StateDicts.Same(state[m.Key], expected).ShouldBeTrue(m.Key);
        }
        // Trainable tensors of the file plus a 512 -> 1000 classifier: the architecture's parameter count.
        long fileParameters = result.Mapped.Where(m => !m.Key.Contains("running_")).Sum(m => state[m.Key].numel());
        (fileParameters + 512 * 1000 + 1000).ShouldBe(ArchitectureRegistry.Default.CountParameters("resnet18_cntk"));
    }

    [Fact]
    public void Import_IntoTorchvisionsResNet18_IsRefused_NamingTheExtraBlock_AndLeavesTheModelAsItWas()
    {
        using var model = Create("resnet18");
        var before = StateDicts.Snapshot(model);
        var e = Should.Throw<WeightsImportException>(() => OnnxImporter.Import(OnnxTestFiles.MlNetResNet18, model));
        e.Message.ShouldContain("layer4.2");
        e.Message.ShouldContain("2, 2, 2, 2");
        StateDicts.ShouldEqual(StateDicts.Snapshot(model), before);
    }

    [Fact]
    public void Read_RefusesATruncatedFile()
    {
        var bytes = File.ReadAllBytes(OnnxTestFiles.MlNetResNet18);
        foreach (var length in new[] { bytes.Length / 2, bytes.Length - 100, 1000 })
        {
            var path = _tmp.PathOf($"cut{length}.onnx");
            File.WriteAllBytes(path, bytes[..length]);
            Should.Throw<WeightsFormatException>(() => OnnxModel.Read(path)).Message.ShouldContain("truncated");
        }
        // The file ends with its 6-byte opset import: without it the rest parses, and the missing opset refuses it.
        var lost = _tmp.PathOf("noopset.onnx");
        File.WriteAllBytes(lost, bytes[..^6]);
        Should.Throw<WeightsFormatException>(() => OnnxModel.Read(lost)).Message.ShouldContain("default ONNX domain 0 times");
    }

    [Fact]
    public void Read_RefusesFilesThatAreNotOnnx()
    {
        var text = _tmp.PathOf("notes.onnx");
        File.WriteAllText(text, "not a model at all\n");
        Should.Throw<WeightsFormatException>(() => OnnxModel.Read(text));
        Should.Throw<WeightsFormatException>(() => OnnxModel.Read(TestFixtures.PathOf("resnet18_seed7.safetensors")));
        var empty = _tmp.PathOf("empty.onnx");
        File.WriteAllBytes(empty, []);
        Should.Throw<WeightsFormatException>(() => OnnxModel.Read(empty)).Message.ShouldContain("not an ONNX model");
    }

    /// <summary>A small file of its own: a Relu then an operator the importer has no meaning for.</summary>
    [Fact]
    public void Read_RefusesAnUnsupportedOperator_NamingTheNode()
    {
        var proto = new ModelProto { IrVersion = 7, ProducerName = "test", Graph = new GraphProto { Name = "g" } };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        proto.Graph.Input.Add(new ValueInfoProto { Name = "x" });
        proto.Graph.Node.Add(new NodeProto { Name = "first", OpType = "Relu", Input = { "x" }, Output = { "y" } });
        proto.Graph.Node.Add(new NodeProto { Name = "squash", OpType = "Softsign", Input = { "y" }, Output = { "z" } });
        proto.Graph.Output.Add(new ValueInfoProto { Name = "z" });
        var path = _tmp.PathOf("softsign.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());

        var e = Should.Throw<WeightsFormatException>(() => OnnxModel.Read(path));
        e.Message.ShouldContain("node 'squash' (Softsign)");
        e.Message.ShouldContain("not supported");
    }

    [Fact]
    public void Read_RefusesAnAttributeItDoesNotUnderstand_OrCannotHonour_NamingTheNode()
    {
        var proto = Clone();
        Node(proto, "Convolution257").Attribute.Add(new AttributeProto { Name = "fancy", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        Should.Throw<WeightsFormatException>(() => OnnxModel.FromProto(proto, "x.onnx")).Message
            .ShouldContain("node 'Convolution257' (Conv): attribute 'fancy' of Conv is not understood");

        proto = Clone();
        Node(proto, "Pooling255").Attribute.Add(new AttributeProto { Name = "ceil_mode", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        Should.Throw<WeightsFormatException>(() => OnnxModel.FromProto(proto, "x.onnx")).Message
            .ShouldContain("node 'Pooling255' (MaxPool): cannot honour ceil_mode = 1");
    }

    [Fact]
    public void Walk_RefusesAStrideTheArchitectureDoesNotHave_NamingTheNode()
    {
        var proto = Clone();
        SetInts(Node(proto, "Convolution285"), "strides", 1, 1);
        var e = Should.Throw<WeightsImportException>(() => Walk(proto));
        e.Message.ShouldContain("node 'Convolution285' (Conv) has strides [1, 1], layer2.0.conv1 has [2, 2]");
    }

    /// <summary>Pads decide windows: symmetric pads at an even size select the file's windows (accepted), leading
    /// pads that differ shift every window (refused).</summary>
    [Fact]
    public void Walk_AcceptsPadsThatSelectTheSameWindows_AndRefusesOthers()
    {
        var proto = Clone();
        SetInts(Node(proto, "Pooling255"), "pads", 1, 1, 1, 1);
        SetInts(Node(proto, "Convolution249"), "pads", 3, 3, 3, 3);
        Walk(proto).Mapped.Count.ShouldBe(110);

        proto = Clone();
        SetInts(Node(proto, "Convolution317"), "pads", 0, 0, 1, 1);
        Should.Throw<WeightsImportException>(() => Walk(proto)).Message.ShouldContain("node 'Convolution317' (Conv) pads [0, 0, 1, 1]");
    }

    [Fact]
    public void Walk_RefusesAnotherBatchNormEpsilon_NamingTheNode()
    {
        var proto = Clone();
        Node(proto, "BatchNormalization343").Attribute.Single(a => a.Name == "epsilon").F = 1e-3f;
        Should.Throw<WeightsImportException>(() => Walk(proto)).Message.ShouldContain("node 'BatchNormalization343' (BatchNormalization) has epsilon 0.001, layer3.1.bn2 has 1e-05");
    }

    [Fact]
    public void Walk_RefusesAnInitialiserReadByTwoNodes()
    {
        var proto = Clone();
        var bn = Node(proto, "BatchNormalization259");
        bn.Input[3] = "Constant98"; // bn1's running mean, read by the stem's BatchNorm too
        var e = Should.Throw<WeightsImportException>(() => Walk(proto));
        e.Message.ShouldContain("initialiser 'Constant98' is read by node 'BatchNormalization251' (BatchNormalization) and node 'BatchNormalization259' (BatchNormalization)");
    }

    [Fact]
    public void Walk_RefusesANodeOutsideTheResNet_NamingIt()
    {
        var proto = Clone();
        // A second Relu reading the stem's output: not part of any block.
        proto.Graph.Node.Add(new NodeProto { Name = "Stray", OpType = "Relu", Input = { "Pooling255_Output_0" }, Output = { "stray_out" } });
        Should.Throw<WeightsImportException>(() => Walk(proto)).Message.ShouldContain("node 'Stray' (Relu)");
    }

    [Fact]
    public void Walk_RefusesAGraphWhoseShortcutIsNotAddedToItsBlock()
    {
        var proto = Clone();
        // Plus299 adds layer2.0's main path and projection shortcut; make it add the block's input instead.
        Node(proto, "Plus299").Input[1] = "ReLU283_Output_0";
        var e = Should.Throw<WeightsImportException>(() => Walk(proto));
        e.Message.ShouldContain("node 'Plus299' (Add)");
        e.Message.ShouldContain("a residual block starts with");
    }
}
