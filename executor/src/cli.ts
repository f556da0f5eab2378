console.log("wegent-executor");
