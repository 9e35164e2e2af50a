// Headless commands. Each feature adds its commands from its own folder.
Console.Error.WriteLine("usage: modelzoo <command> (commands are added per feature)");
return 2;
